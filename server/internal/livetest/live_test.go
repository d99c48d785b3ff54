//go:build unix

package livetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/internal/requestpoll"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/session"
)

// server is a livesite served by the backend, as an editor drives it.
type server struct {
	t    *testing.T
	ed   *fakeeditor.Env
	dir  string
	base string // http://127.0.0.1:PORT
	st   protocol.Status
}

// serve starts a copy of testdata/livesite on d, on a free port, and
// returns once it runs.
func serve(t *testing.T, d testenv.Django, extra ...any) *server {
	t.Helper()
	return serveWith(t, d, nil, extra...)
}

// serveWith is serve with more of the server's environment.
func serveWith(t *testing.T, d testenv.Django, more map[string]string, extra ...any) *server {
	t.Helper()
	dir := testenv.Project(t, "livesite")
	port := testenv.FreePort(t)
	env := map[string]any{"PYTHONDONTWRITEBYTECODE": "1"}
	for k, v := range d.Env {
		env[k] = v
	}
	for k, v := range more {
		env[k] = v
	}
	settings := map[string]any{"python": d.Python, "address": fmt.Sprintf("127.0.0.1:%d", port), "env": env}
	for i := 0; i+1 < len(extra); i += 2 {
		settings[extra[i].(string)] = extra[i+1]
	}
	ed := fakeeditor.New(t, session.Serve)
	ed.Initialize(settings, dir)
	s := &server{t: t, ed: ed, dir: dir, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	s.st = ed.StartRunning("")
	return s
}

// edit rewrites views.py's VERSION line from old to new and saves it as
// the editor does; it returns the mark from before the save.
func (s *server) edit(old, new string) int {
	s.t.Helper()
	views := filepath.Join(s.dir, "livesite", "views.py")
	from := s.ed.Mark()
	testenv.Rewrite(s.t, views, `VERSION = "`+old, `VERSION = "`+new)
	s.ed.Save(views)
	return from
}

// save saves a new VERSION and waits until the new process serves it.
func (s *server) save(old, new string) {
	s.t.Helper()
	from := s.edit(old+`"`, new+`"`)
	s.ed.AwaitState(from, "", protocol.StateReloading)
	s.st = s.ed.AwaitState(from, "", protocol.StateRunning)
}

// A page requested every 10 ms while 20 saved Python edits reload the
// server: no request fails. A POST sent while the server reloads (the old
// process has exited, the new one does not serve yet) reaches the view
// exactly once.
func TestNoRequestFailsDuringReloads(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serve(t, d)
		if !s.st.BrowserReload || s.st.BrowserReloadNote != "" {
			t.Errorf("running status: browserReload=%v note=%q, want on and no note", s.st.BrowserReload, s.st.BrowserReloadNote)
		}
		reloadUnderRequests(t, s, d)
	})
}

// reloadUnderRequests saves 20 Python edits while a page is requested
// every 10 ms, and sends a POST while the server reloads (the old process
// has exited, the new one does not serve yet): no request fails, and the
// POST reaches the view exactly once.
func reloadUnderRequests(t *testing.T, s *server, d testenv.Django) {
	t.Helper()
	p := testenv.Poll(s.base+"/version", requestpoll.OnlyOK)
	const reloads = 20
	var posted <-chan string
	for i := 1; i <= reloads; i++ {
		old, new := fmt.Sprintf("v%d", i), fmt.Sprintf("v%d", i+1)
		if i == 2 {
			posted = s.postDuringReload(old, new)
			continue
		}
		s.save(old, new)
		testenv.WaitBody(t, s.base+"/version", new)
	}
	ok, failed, last := p.Stop()
	t.Logf("Django %s: %d requests during %d reloads, %d failed", d.Version, ok+failed, reloads, failed)
	if failed != 0 {
		t.Errorf("%d of %d requests failed; the last: %v", failed, ok+failed, last)
	}
	if ok < reloads {
		t.Errorf("only %d requests succeeded", ok)
	}
	if got := <-posted; got != "posted once" {
		t.Errorf("the POST sent during a reload got %q", got)
	}
	if log, _ := os.ReadFile(filepath.Join(s.dir, "posts.log")); string(log) != "once\n" {
		t.Errorf("the view received %q, want the POST once", log)
	}
	if s.st.Reloads != reloads {
		t.Errorf("reloads = %d, want %d", s.st.Reloads, reloads)
	}
}

// A page requested every 10 ms through 20 rounds of a saved SyntaxError
// and its fix: every request gets an answer, the failed server's page or
// the view's, none a connection closed without one; above all when the
// page hands the address back to the fixed server.
func TestNoRequestLostFromFailedToRunning(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serve(t, d)
		p := testenv.Poll(s.base+"/version", requestpoll.Answered)
		const rounds = 20
		for i := 1; i <= rounds; i++ {
			v := fmt.Sprintf("v%d", i)
			s.ed.AwaitState(s.edit(v+`"`, v), "", protocol.StateFailed)
			// The page answers before the fix, so the fix takes the address
			// back from it.
			testenv.Eventually(t, 30*time.Second, "the failed server's page", func() bool {
				_, err := testenv.Get(s.base + "/version")
				return err != nil && strings.Contains(err.Error(), "503")
			})
			next := fmt.Sprintf("v%d", i+1)
			s.ed.AwaitState(s.edit(v, next+`"`), "", protocol.StateRunning)
			testenv.WaitBody(t, s.base+"/version", next)
		}
		ok, failed, last := p.Stop()
		pages := p.Count(http.StatusServiceUnavailable)
		t.Logf("Django %s: %d requests over %d failures and fixes: %d served, %d error pages, %d lost", d.Version, ok+failed, rounds, ok-pages, pages, failed)
		if failed != 0 {
			t.Errorf("%d of %d requests got no answer; the last: %v", failed, ok+failed, last)
		}
		if pages < rounds || ok-pages < rounds {
			t.Errorf("%d error pages and %d pages served, want at least %d of each", pages, ok-pages, rounds)
		}
	})
}

// postDuringReload saves an edit and, once the old process has exited
// (reloading), sends a POST; it returns the POST's answer.
func (s *server) postDuringReload(old, new string) <-chan string {
	s.t.Helper()
	from := s.edit(old+`"`, new+`"`)
	s.ed.AwaitState(from, "", protocol.StateReloading)
	posted := testenv.PostLater(s.base+"/post", "once")
	s.st = s.ed.AwaitState(from, "", protocol.StateRunning)
	testenv.WaitBody(s.t, s.base+"/version", new)
	return posted
}

// exchange is what a client sent and got back, as the echo view saw it.
type exchange struct {
	Echo     map[string]any
	Streamed string
	Page     string
}

// talk sends the fidelity requests to base: a POST with headers and a
// 50 MB body to the echo view, a streaming page, and a plain page.
func talk(t *testing.T, base string, body []byte) exchange {
	t.Helper()
	c := http.Client{Timeout: 120 * time.Second}
	req, _ := http.NewRequest("POST", base+"/echo?q=1", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Custom", "a, b")
	req.Header.Set("User-Agent", "fidelity")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var x exchange
	err = json.NewDecoder(resp.Body).Decode(&x.Echo)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, header map[string]string) string {
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), b)
	}
	x.Streamed = get("/stream", nil)
	x.Page = get("/version", nil)
	return x
}

// Django sees the request the client sent (client address, Host, headers,
// a 50 MB body's SHA-256) and the client gets the response Django made (a
// streaming one too), through the backend after a reload, so on the
// inherited socket, as with runserver alone on the same address.
func TestFidelity(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		body := bytes.Repeat([]byte("0123456789abcdef"), 50<<20/16)
		s := serve(t, d)
		s.save("v1", "v2")
		ours := talk(t, s.base, body)
		s.ed.Stop("")

		addr := strings.TrimPrefix(s.base, "http://")
		cmd := exec.Command(d.Python, "manage.py", "runserver", "--noreload", addr)
		cmd.Dir = s.dir
		cmd.Env = append(d.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		out := &testenv.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		testenv.WaitBody(t, s.base+"/version", "v2")
		theirs := talk(t, s.base, body)

		if a, b := fmt.Sprint(ours.Echo), fmt.Sprint(theirs.Echo); a != b {
			t.Errorf("Django saw another request through the backend:\nours:   %s\nalone:  %s", a, b)
		}
		if ours.Echo["length"] != float64(len(body)) || ours.Echo["remote_addr"] != "127.0.0.1" {
			t.Errorf("echo = %v", ours.Echo)
		}
		if ours.Streamed != theirs.Streamed || ours.Page != theirs.Page {
			t.Errorf("the responses differ:\nours:  %q %q\nalone: %q %q", ours.Streamed, ours.Page, theirs.Streamed, theirs.Page)
		}
	})
}

// A saved SyntaxError: the address answers 503 with the error's file and
// line, as a page that refreshes itself; the fix serves the page again.
// Also when the server's first process fails, before any served.
func TestFailedServerShowsItsError(t *testing.T) {
	s := serve(t, testenv.Django{Python: testenv.Python(t)})

	failed := s.ed.AwaitState(s.edit(`v1"`, `v1`), "", protocol.StateFailed)
	if failed.Error == nil || failed.Error.Exception != "SyntaxError" {
		t.Fatalf("failed with %+v, want a SyntaxError", failed.Error)
	}
	body := errorPage(t, s.base+"/")
	for _, want := range []string{"SyntaxError", "/__django_runserver__/live.js"} {
		if !strings.Contains(body, want) {
			t.Errorf("the error page lacks %q:\n%s", want, body)
		}
	}
	wantViewsFrame(t, body, failed.Error.Line)
	s.ed.AwaitState(s.edit(`v1`, `v2"`), "", protocol.StateRunning)
	testenv.WaitBody(t, s.base+"/version", "v2")

	// The first process fails: nothing served yet, the page is there.
	s.ed.Stop("")
	testenv.Rewrite(t, filepath.Join(s.dir, "livesite", "views.py"), `VERSION = "v2"`, `VERSION = "v2`)
	from := s.ed.Mark()
	s.ed.Start("")
	s.ed.AwaitState(from, "", protocol.StateFailed)
	wantViewsFrame(t, errorPage(t, s.base+"/"), failed.Error.Line)
	s.ed.AwaitState(s.edit(`v2`, `v3"`), "", protocol.StateRunning)
	testenv.WaitBody(t, s.base+"/version", "v3")
	st := s.ed.Stop("")
	if st.State != protocol.StateStopped || !testenv.PortFree(s.port()) {
		t.Errorf("after stop: %s, port free %v", st.State, testenv.PortFree(s.port()))
	}
}

// wantViewsFrame fails unless the error page shows livesite/views.py at
// line, as its script finds frames.
func wantViewsFrame(t *testing.T, body string, line int) {
	t.Helper()
	if file, got, ok := testenv.PageFrame(body, "views.py"); !ok || file != "livesite/views.py" || got != line {
		t.Errorf("the error page shows %q, line %d (%v), want livesite/views.py, line %d:\n%s", file, got, ok, line, body)
	}
}

func (s *server) port() int {
	var p int
	fmt.Sscanf(s.base[strings.LastIndex(s.base, ":")+1:], "%d", &p)
	return p
}

// errorPage gets url and wants the failed server's 503 page.
func errorPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("the failed server's address: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("the failed server answered %s, want 503:\n%s", resp.Status, b)
	}
	return string(b)
}
