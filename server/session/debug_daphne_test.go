package session

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// The Debug Server under Daphne's runserver (testdata/livesite with
// LIVESITE_RUNSERVER=daphne), which never calls runserver's basehttp.run:
// the debugger listens before Daphne's reactor runs, a breakpoint in a
// view is hit, and after a reload the session attached once follows the
// new process and hits it in the new code.
func TestDebugUnderDaphne(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, django testenv.Django) {
		debugPython(t, django.Python)
		dir := testenv.Project(t, "livesite")
		port := testenv.FreePort(t)
		settings := onDjango(django, port)
		settings["env"].(map[string]any)["LIVESITE_RUNSERVER"] = "daphne"
		c := fakeeditor.New(t, Serve)
		c.Initialize(settings, dir)
		views := filepath.Join(dir, "livesite", "views.py")
		line := testenv.LineOf(t, views, `return HttpResponse(VERSION, content_type="text/plain")`)
		bps := fakedap.Breakpoints{views: {line}}
		url := fmt.Sprintf("http://127.0.0.1:%d/version", port)

		from := c.Mark()
		r, d := startDebugged(t, c, bps)
		st := c.AwaitStatusWithin(fakedap.Timeout, from, "", "Daphne's runserver", func(s protocol.Status) bool {
			return s.State == protocol.StateRunning && s.Runserver != nil
		})
		if st.Runserver.Server != protocol.ServerDaphne {
			t.Fatalf("runserver %+v, want Daphne's", st.Runserver)
		}
		if b := hit(t, d, url, views, line); b != "v1" {
			t.Fatalf("body %q, want v1", b)
		}

		from, mark := c.Mark(), d.Mark()
		testenv.Rewrite(t, views, `VERSION = "v1"`, `VERSION = "v2"`)
		c.Save(views)
		followed(t, c, d, from, mark, r)
		if b := hit(t, d, url, views, line); b != "v2" {
			t.Fatalf("after the reload: body %q, want v2", b)
		}
	})
}
