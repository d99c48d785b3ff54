//go:build linux

package corpus

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/internal/procfs"
	"github.com/django-runserver/django-runserver/internal/requestpoll"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/session"
)

// server is a corpus project served by the backend, as an editor drives it.
type server struct {
	t   *testing.T
	ed  *fakeeditor.Env
	c   testenv.Corpus
	url string // http://127.0.0.1:PORT/
	st  protocol.Status
}

// serve opens c's project in ed with preloading on, starts it and returns
// once it runs.
func serve(t *testing.T, c testenv.Corpus, ed *fakeeditor.Env) *server {
	t.Helper()
	t.Logf("%s %s on Django %s (%s)", c.Package, c.Version, c.Django, c.Python)
	ed.Initialize(map[string]any{
		"python":  c.Python,
		"address": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		"env":     map[string]any{"PYTHONDONTWRITEBYTECODE": "1"},
		"preload": "auto",
	}, c.Dir)
	s := &server{t: t, ed: ed, c: c}
	s.st = ed.StartRunning("")
	s.url = s.st.URL
	return s
}

// save rewrites old to new in the project's file rel, saves it as the
// editor does, and returns the status once the server runs again.
func (s *server) save(rel, old, new string) protocol.Status {
	s.t.Helper()
	path := filepath.Join(s.c.Dir, rel)
	testenv.Rewrite(s.t, path, old, new)
	from := s.ed.Mark()
	s.ed.Save(path)
	s.st = s.ed.AwaitState(from, "", protocol.StateRunning)
	return s.st
}

// The redirect at Mailman's "/", in its own urls.py: the view edits move
// its target, which the Location header shows.
const (
	mailmanRedirect = "url=reverse_lazy('list_index')"
	mailmanURLs     = "urls.py"
)

func redirectTo(n int) string { return fmt.Sprintf("url='/hyperkitty/?edit=%d'", n) }

// location is where url redirects, or "" with the error.
func location(url string) (string, error) {
	c := http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("Location"), nil
}

// editRedirect moves "/"'s redirect from edit n-1 (the packaged target for
// n = 1) to edit n, and waits until the server redirects there.
func (s *server) editRedirect(n int) protocol.Status {
	s.t.Helper()
	old := mailmanRedirect
	if n > 1 {
		old = redirectTo(n - 1)
	}
	st := s.save(mailmanURLs, old, redirectTo(n))
	want := fmt.Sprintf("/hyperkitty/?edit=%d", n)
	testenv.Eventually(s.t, 30*time.Second, "/ to redirect to "+want, func() bool {
		got, err := location(s.url)
		return err == nil && got == want
	})
	return st
}

// setUpLog is in both log lines of a second-level preloader: ready
// ("set Django up ahead:") or refused (cannotSetUp).
const (
	setUpLog    = "set Django up ahead"
	cannotSetUp = "cannot set Django up ahead"
)

// TestMailman: Mailman 3's web UI, with its packaged settings (the file
// log, django_q, haystack, compressor): it starts and serves; a view edit
// is served warm, forked from Django set up ahead, as the status says; a
// template edit is served by the same process; a SyntaxError is a 503 page
// and a diagnostic at its file and line, and its fix is served.
func TestMailman(t *testing.T) {
	c := testenv.Mailman(t)
	s := serve(t, c, fakeeditor.New(t, session.Serve))
	testenv.WaitBody(t, s.url+"hyperkitty/", "hyperkitty")

	// Level 2 is built once the server serves, then its first level.
	from := 0
	if err := s.ed.Editor.Await(fakeeditor.AwaitTimeout, from, fakeeditor.TextContains(protocol.MethodLogMessage, setUpLog)); err != nil {
		t.Fatal(err)
	}
	refused := ""
	for _, line := range s.ed.Texts(from, protocol.MethodLogMessage) {
		if strings.Contains(line, cannotSetUp) {
			refused = line
		}
	}
	st := s.editRedirect(1)
	if st.Start != protocol.StartWarm {
		t.Errorf("a view edit started %q (%s), want warm", st.Start, st.ColdReason)
	}
	if !st.SetUpAhead {
		t.Errorf("a view edit was not forked from Django set up ahead; the backend said: %s", refused)
	}

	// A template edit: no restart.
	pid, reloads := s.st.PID, s.st.Reloads
	index := filepath.Join(c.Dir, "templates", "hyperkitty", "index.html")
	testenv.Rewrite(t, index, "{% block content %}", "{% block content %}<p>corpus-template-edit</p>")
	s.ed.Save(index)
	testenv.WaitBody(t, s.url+"hyperkitty/", "corpus-template-edit")
	if now := s.ed.Status(""); now.PID != pid || now.Reloads != reloads {
		t.Errorf("a template edit restarted the server: pid %d, %d reloads; was pid %d, %d reloads", now.PID, now.Reloads, pid, reloads)
	}

	// A SyntaxError, then its fix.
	urls := filepath.Join(c.Dir, mailmanURLs)
	testenv.Rewrite(t, urls, "RedirectView.as_view(", "RedirectView.as_view((")
	from = s.ed.Mark()
	s.ed.Save(urls)
	failed := s.ed.AwaitState(from, "", protocol.StateFailed)
	if failed.Error == nil || failed.Error.Exception != "SyntaxError" || failed.Error.File != urls {
		t.Fatalf("failed with %+v, want a SyntaxError in %s", failed.Error, urls)
	}
	s.ed.AwaitDiagnostics(fileuri.FromPath(urls), "a SyntaxError", func(ds []protocol.Diagnostic) bool {
		return len(ds) == 1 && strings.Contains(ds[0].Message, "SyntaxError") && ds[0].Range.Start.Line+1 == failed.Error.Line
	})
	resp, err := http.Get(s.url + "accounts/login/")
	if err != nil {
		t.Fatalf("the failed server's address: %v", err)
	}
	page, _ := readAll(resp)
	if _, line, ok := testenv.PageFrame(page, "urls.py"); resp.StatusCode != http.StatusServiceUnavailable || !ok || line != failed.Error.Line {
		t.Errorf("the failed server answered %s, want 503 naming urls.py, line %d:\n%.500s", resp.Status, failed.Error.Line, page)
	}
	s.save(mailmanURLs, "RedirectView.as_view((", "RedirectView.as_view(")
	testenv.WaitBody(t, s.url+"accounts/login/", "csrfmiddlewaretoken")
	s.ed.AwaitDiagnostics(fileuri.FromPath(urls), "cleared", func(ds []protocol.Diagnostic) bool { return len(ds) == 0 })
}

// mailmanStatic is a file Django's staticfiles serves in development: a
// request through Django that two cores answer well within 10 ms. A page
// (the login form takes tens of ms to render) asked for every 10 ms would
// queue without end on a loaded machine, and measure the machine.
const mailmanStatic = "mailman3/static/hyperkitty/img/button_back.png"

// TestMailmanLosesNoRequest: a file requested every 10 ms through 10
// reloads of Mailman: none fails.
func TestMailmanLosesNoRequest(t *testing.T) {
	s := serve(t, testenv.Mailman(t), fakeeditor.New(t, session.Serve))
	testenv.WaitServed(t, s.url+mailmanStatic, 30*time.Second, "a PNG", func(body string) bool { return strings.HasPrefix(body, "\x89PNG") })
	p := testenv.Poll(s.url+mailmanStatic, requestpoll.OnlyOK)
	const reloads = 10
	for i := 1; i <= reloads; i++ {
		s.editRedirect(i)
	}
	ok, failed, last := p.Stop()
	t.Logf("%d requests during %d reloads, %d failed", ok+failed, reloads, failed)
	if failed != 0 {
		t.Errorf("%d of %d requests failed; the last: %v", failed, ok+failed, last)
	}
	if s.st.Reloads != reloads {
		t.Errorf("reloads = %d, want %d", s.st.Reloads, reloads)
	}
}

// idleBound is the most of one core the backend may use while Mailman
// idles right after start: generous on purpose, since a loaded machine
// stretches everything, and a backend that polls burns far more (75% of a
// core, once).
const idleBound = 0.05

// TestMailmanBackendIdlesAfterStart: the backend binary, as the editor
// spawns it, is quiet over the 5 s after Mailman runs, while its
// preloaders load.
func TestMailmanBackendIdlesAfterStart(t *testing.T) {
	ed := fakeeditor.NewBinary(t, testenv.Binary(t))
	serve(t, testenv.Mailman(t), ed)
	const window = 5 * time.Second
	before, t0 := procfs.CPUTime(ed.PID()), time.Now()
	time.Sleep(window) // a measurement window, not a wait for a condition
	used, elapsed := procfs.CPUTime(ed.PID())-before, time.Since(t0)
	share := float64(used) / float64(elapsed)
	t.Logf("the backend used %.2f%% of a core over %s after Mailman ran", 100*share, elapsed.Round(time.Millisecond))
	if share > idleBound {
		t.Errorf("the backend used %.1f%% of a core over the %s after Mailman ran (at most %.0f%%)",
			100*share, elapsed.Round(time.Millisecond), 100*idleBound)
	}
}

// TestGraphiteSettings: graphite-web's settings end with
// globals().update(import_module('local_settings').__dict__), which
// overwrites graphite.settings's __file__ and __spec__; an edit of
// graphite/settings.py still reloads, and the new value is served (the
// version view shows settings.WEBAPP_VERSION), from a warm start.
func TestGraphiteSettings(t *testing.T) {
	c := testenv.Graphite(t)
	s := serve(t, c, fakeeditor.New(t, session.Serve))
	testenv.WaitBody(t, s.url+"version/", "1.1.8")
	if err := s.ed.Editor.Await(fakeeditor.AwaitTimeout, 0, fakeeditor.TextContains(protocol.MethodLogMessage, setUpLog)); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join("graphite", "settings.py")
	for i, version := range []string{"1.1.8-edit1", "1.1.8-edit2"} {
		old := "WEBAPP_VERSION = '1.1.8"
		if i > 0 {
			old = "WEBAPP_VERSION = '1.1.8-edit1"
		}
		st := s.save(settings, old+"'", "WEBAPP_VERSION = '"+version+"'")
		testenv.WaitServed(t, s.url+"version/", 30*time.Second, version, func(body string) bool { return strings.TrimSpace(body) == version })
		if st.Start != protocol.StartWarm {
			t.Errorf("settings edit %d started %q (%s), want warm", i+1, st.Start, st.ColdReason)
		}
		if st.SetUpAhead {
			t.Errorf("settings edit %d was forked from Django set up with the old settings", i+1)
		}
	}
}

func readAll(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	var b strings.Builder
	_, err := io.Copy(&b, resp.Body)
	return b.String(), err
}
