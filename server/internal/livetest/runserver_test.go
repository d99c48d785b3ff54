//go:build unix

package livetest

import (
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// browserClaim is what the log says when pages get the reload script.
const browserClaim = "open pages reload themselves"

// A project whose app overrides runserver with a server of its own
// (testdata/livesite's ownserver, first in INSTALLED_APPS): the backend
// can't reach it with the kept socket or the page script. The status and
// the log name each feature that is off, and why; no line claims browser
// reload, and the page is served without the script; reloads still work.
func TestOwnRunserverClaimsNothing(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serveWith(t, d, map[string]string{"LIVESITE_RUNSERVER": "own"})
		st := s.ed.AwaitStatusWithin(30*time.Second, 0, "", "the runserver said", func(st protocol.Status) bool {
			return st.State == protocol.StateRunning && st.Runserver != nil
		})
		rs := st.Runserver
		if rs.Server != protocol.ServerOther || rs.Command != "ownserver.management.commands.runserver" {
			t.Fatalf("status runserver = %+v, want ownserver's, a server of its own", rs)
		}
		off := map[protocol.Feature]string{}
		for _, f := range rs.Off {
			off[f.Feature] = f.Reason
		}
		for _, f := range []protocol.Feature{protocol.FeatureBrowserReload, protocol.FeatureKeptSocket} {
			if !strings.Contains(off[f], "ownserver") {
				t.Errorf("status: %s off because %q; want it off, naming the app", f, off[f])
			}
		}
		if st.BrowserReload || st.BrowserReloadNote == "" {
			t.Errorf("status: browserReload=%v note=%q; want off, and a note that requests during a reload can fail", st.BrowserReload, st.BrowserReloadNote)
		}
		s.ed.Await(0, fakeeditor.TextContains(protocol.MethodLogMessage, "so these are off"))
		var warning string
		for _, text := range s.ed.Texts(0, protocol.MethodLogMessage) {
			if strings.Contains(text, "so these are off") {
				warning = text
			}
		}
		for _, want := range []string{"browser reload: ", "requests kept through a reload: ", "ownserver.management.commands.runserver"} {
			if !strings.Contains(warning, want) {
				t.Errorf("the log's warning %q does not name %q", warning, want)
			}
		}
		page := testenv.GetPage(t, s.base+"/", 200)
		if strings.Contains(page, "/__django_runserver__/") {
			t.Errorf("ownserver's page got the reload script:\n%s", page)
		}

		s.save("v1", "v2")
		testenv.WaitBody(t, s.base+"/version", "v2")
		if st := s.ed.Status(""); st.BrowserReload || st.Runserver == nil || len(st.Runserver.Off) != 2 {
			t.Errorf("status after a reload: browserReload=%v runserver=%+v; want the same features off", st.BrowserReload, st.Runserver)
		}
		for _, text := range s.ed.Texts(0, protocol.MethodLogMessage) {
			if strings.Contains(text, browserClaim) {
				t.Errorf("the log claims browser reload on a server that lacks it: %q", text)
			}
		}
	})
}

// Django's own runserver (staticfiles', which keeps its server) has every
// feature: the status says whose it is, with none off, and the log claims
// browser reload once it serves.
func TestDjangoRunserverHasEveryFeature(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serve(t, d)
		st := s.ed.AwaitStatusWithin(30*time.Second, 0, "", "the runserver said", func(st protocol.Status) bool {
			return st.State == protocol.StateRunning && st.Runserver != nil
		})
		if rs := st.Runserver; rs.Server != protocol.ServerDjango || rs.Command != "django.contrib.staticfiles.management.commands.runserver" || len(rs.Off) != 0 {
			t.Errorf("status runserver = %+v, want staticfiles' with nothing off", rs)
		}
		if !st.BrowserReload || st.BrowserReloadNote != "" {
			t.Errorf("status: browserReload=%v note=%q, want on and no note", st.BrowserReload, st.BrowserReloadNote)
		}
		s.ed.Await(0, fakeeditor.TextContains(protocol.MethodLogMessage, browserClaim))
		if page := testenv.GetPage(t, s.base+"/", 200); !strings.Contains(page, "/__django_runserver__/live.js") {
			t.Errorf("the page lacks the reload script the log claims:\n%s", page)
		}
	})
}
