//go:build unix

package reloader

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/listener"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// liveServer is one fast-mode Django process on the test's listener.
type liveServer struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	ready   chan bool     // true once it serves, false if it ended first
	exited  chan struct{} // closed when the process ended, with exitErr
	exitErr error
	out     *testenv.Buffer
}

func startLive(t *testing.T, dir string, ln *listener.Listener, extra ...string) *liveServer {
	t.Helper()
	return startLiveEnv(t, dir, ln, nil, extra...)
}

// startLiveEnv is startLive with more of the server's environment.
func startLiveEnv(t *testing.T, dir string, ln *listener.Listener, more []string, extra ...string) *liveServer {
	t.Helper()
	shim, err := WriteShim()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	args := Args(shim, protocol.ReloadFast, "manage.py", ln.Address().String(), extra)
	cmd := exec.Command(testenv.Python(t), args...)
	cmd.Dir = dir
	files, env := ln.Inherit(nil)
	cmd.ExtraFiles = append(files, w)
	cmd.Env = append(os.Environ(), "RUN_MAIN=true", env, contract.ReadyFDEnv+"=4", contract.BrowserReloadEnv+"="+contract.BrowserReloadOn, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Env = append(cmd.Env, more...)
	s := &liveServer{cmd: cmd, ready: make(chan bool, 1), exited: make(chan struct{}), out: &testenv.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer r.Close()
		line, _ := bufio.NewReader(r).ReadString('\n')
		s.ready <- line == contract.ReadyLine
	}()
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stdin.Close() // the shim ends its tree at end of stdin
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	return s
}

func (s *liveServer) waitReady(t *testing.T) {
	t.Helper()
	select {
	case ok := <-s.ready:
		if !ok {
			t.Fatalf("the server ended before serving:\n%s", s.out)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the server never said it serves:\n%s", s.out)
	}
}

// changed tells the shim a path changed, as the backend does.
func (s *liveServer) changed(t *testing.T, path string) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, path+"\n"); err != nil {
		t.Fatal(err)
	}
}

func liveListener(t *testing.T) (*listener.Listener, string) {
	t.Helper()
	a := testenv.FreeAddress(t)
	ln, err := listener.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, "http://" + a.Dial()
}

// serveLivesite runs a copy of livesite under the shim on a kept listener
// and waits until it serves: it returns the copy, the listener, its URL and
// the server.
func serveLivesite(t *testing.T, extra ...string) (dir string, ln *listener.Listener, base string, s *liveServer) {
	t.Helper()
	return serveLivesiteEnv(t, nil, extra...)
}

// serveLivesiteEnv is serveLivesite with more of the server's environment.
func serveLivesiteEnv(t *testing.T, env []string, extra ...string) (dir string, ln *listener.Listener, base string, s *liveServer) {
	t.Helper()
	dir = testenv.Project(t, "livesite")
	ln, base = liveListener(t)
	s = startLiveEnv(t, dir, ln, env, extra...)
	s.waitReady(t)
	return dir, ln, base, s
}

func fetch(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, b
}

var tagRe = regexp.MustCompile(`<script src="/__django_runserver__/live.js" data-page="([0-9a-f]+)" data-token="[0-9a-f]{32}"></script>`)

// The first request finds built what Django leaves lazy: the server did it
// before it said it serves.
func TestLiveFirstRequestFindsDjangoWarm(t *testing.T) {
	_, _, base, s := serveLivesite(t)
	_, body := fetch(t, "GET", base+"/warm", nil)
	var warm map[string]bool
	if err := json.Unmarshal(body, &warm); err != nil || len(warm) == 0 {
		t.Fatalf("/warm answered %q: %v\n%s", body, err, s.out)
	}
	for what, built := range warm {
		if !built {
			t.Errorf("the first request found the %s not built", what)
		}
	}
}

// HTML pages get one tag before the last </body>, or at the end of a
// document that omits it, with Content-Length fixed; everything else (a
// fragment too) is left as Django made it.
func TestLivePages(t *testing.T) {
	_, _, base, s := serveLivesite(t)
	checkPages(t, base, s, "GET /__django_runserver__")
}

// Under Daphne's runserver (livesite's LIVESITE_RUNSERVER=daphne), the
// ASGI side of page.py follows the same rules: one tag in whole HTML pages,
// none in fragments, gzip, streams or where the CSP forbids it, live.js
// served, and the reserved paths kept out of the user's log.
func TestLivePagesUnderDaphne(t *testing.T) {
	_, _, base, s := serveLivesiteEnv(t, []string{"LIVESITE_RUNSERVER=daphne"})
	checkPages(t, base, s, "HTTP GET /__django_runserver__")
	if !strings.Contains(s.out.String(), "Starting ASGI/Daphne") {
		t.Fatalf("Daphne did not serve:\n%s", s.out)
	}
}

// checkPages checks the pages of livesite at base, served by s, whose log
// must not hold reservedLog.
func checkPages(t *testing.T, base string, s *liveServer, reservedLog string) {
	t.Helper()
	resp, body := fetch(t, "GET", base+"/", nil)
	if n := len(tagRe.FindAll(body, -1)); n != 1 {
		t.Fatalf("the page has %d script tags:\n%s", n, body)
	}
	if !bytes.Contains(body, []byte("</script></body>")) {
		t.Fatalf("the tag is not right before </body>:\n%s", body)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Fatalf("Content-Length %d for a body of %d bytes", resp.ContentLength, len(body))
	}
	head, _ := fetch(t, "HEAD", base+"/", nil)
	if want := int64(len(body) - len(tagRe.Find(body))); head.ContentLength != want {
		t.Fatalf("HEAD's Content-Length is %d, want Django's own %d", head.ContentLength, want)
	}

	resp, body = fetch(t, "GET", base+"/nobody", nil)
	if !tagRe.Match(body) || !bytes.HasSuffix(body, []byte("<p>no end of body\n"+string(tagRe.Find(body)))) {
		t.Errorf("the document without </body> lacks the tag at its end:\n%s", body)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d for a body of %d bytes", resp.ContentLength, len(body))
	}
	if _, body := fetch(t, "GET", base+"/fragment", nil); string(body) != `<p id="fragment">a fragment</p>` {
		t.Errorf("the fragment changed: %s", body)
	}
	for _, path := range []string{"/csp", "/version"} {
		_, body := fetch(t, "GET", base+path, nil)
		if bytes.Contains(body, []byte("__django_runserver__")) {
			t.Errorf("%s got the script:\n%s", path, body)
		}
	}
	testenv.Eventually(t, 10*time.Second, "the log to say why /csp won't refresh", func() bool {
		return strings.Contains(s.out.String(), "/csp won't refresh by itself: its Content-Security-Policy forbids the script")
	})

	resp, body = fetch(t, "GET", base+"/gzip", map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("/gzip is not compressed: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || bytes.Contains(plain, []byte("__django_runserver__")) || !bytes.Contains(plain, []byte("</body>")) {
		t.Fatalf("/gzip changed: %v\n%s", err, plain)
	}

	// A streaming response streams: its first chunk arrives before its end.
	sresp, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	first := make([]byte, 64)
	n, _ := sresp.Body.Read(first)
	if !strings.HasPrefix(string(first[:n]), "<p>chunk 0</p>") {
		t.Fatalf("the stream began with %q", first[:n])
	}
	rest, _ := io.ReadAll(sresp.Body)
	if bytes.Contains(rest, []byte("__django_runserver__")) {
		t.Fatalf("the stream got the script: %s", rest)
	}

	_, js := fetch(t, "GET", base+"/__django_runserver__/live.js", nil)
	if !bytes.Equal(js, Script) {
		t.Fatalf("live.js is not the script")
	}
	if strings.Contains(s.out.String(), reservedLog) {
		t.Fatalf("the reserved path appears in the user's log:\n%s", s.out)
	}
}

// sse reads one event stream until want appears in it.
func sse(t *testing.T, url string) (lines chan string, stop func()) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines = make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, func() { resp.Body.Close() }
}

func expectLine(t *testing.T, lines chan string, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before %q; it said %q", want, seen)
			}
			if l == want {
				return
			}
			seen = append(seen, l)
		case <-deadline:
			t.Fatalf("no %q in the stream; it said %q", want, seen)
		}
	}
}

// A page from this process waits; a template change reloads it without a
// restart, a CSS change swaps stylesheets, and a page from another process
// reloads at once. --nothreading: the stream doesn't take the one thread.
func TestLiveEvents(t *testing.T) {
	dir, _, base, s := serveLivesite(t, "--nothreading")
	checkEvents(t, dir, base, s)
}

// Under Daphne the events are the same, and a reload ends the open
// stream (its browser reconnects to the next process) before the process
// exits.
func TestLiveEventsUnderDaphne(t *testing.T) {
	dir, _, base, s := serveLivesiteEnv(t, []string{"LIVESITE_RUNSERVER=daphne"})
	lines := checkEvents(t, dir, base, s)
	views := filepath.Join(dir, "livesite", "views.py")
	testenv.Rewrite(t, views, `VERSION = "v1"`, `VERSION = "v2"`)
	s.changed(t, views)
	ended := make(chan struct{})
	go func() {
		for range lines {
		}
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatalf("the page's stream stayed open through the reload:\n%s", s.out)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not exit for the reload:\n%s", s.out)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != contract.ExitReload {
		t.Fatalf("the server exited with %d, want %d (reload):\n%s", code, contract.ExitReload, s.out)
	}
}

// checkEvents checks the event stream of livesite at base, served by s
// from dir, and returns the lines of the page's stream, still open.
func checkEvents(t *testing.T, dir, base string, s *liveServer) <-chan string {
	t.Helper()
	_, body := fetch(t, "GET", base+"/", nil)
	page := string(tagRe.FindSubmatch(body)[1])

	lines, stop := sse(t, base+"/__django_runserver__/events?page="+page)
	t.Cleanup(stop)
	expectLine(t, lines, contract.StreamOpen)
	// The stream is open, and the one request thread is free.
	if _, v := fetch(t, "GET", base+"/version", nil); string(v) != "v1" {
		t.Fatalf("/version: %q", v)
	}

	tmpl := filepath.Join(dir, "livesite", "templates", "page.html")
	testenv.Rewrite(t, tmpl, "template t1", "template t2")
	s.changed(t, tmpl)
	expectLine(t, lines, "data: template")
	_, after := fetch(t, "GET", base+"/", nil)
	if !bytes.Contains(after, []byte("template t2")) || string(tagRe.FindSubmatch(after)[1]) != page {
		t.Fatalf("the template change restarted the server or wasn't applied:\n%s", after)
	}

	css := filepath.Join(dir, "livesite", "static", "site.css")
	testenv.Rewrite(t, css, "rgb(0, 0, 0)", "rgb(200, 0, 0)")
	s.changed(t, css)
	expectLine(t, lines, "event: css")

	other, stopOther := sse(t, base+"/__django_runserver__/events?page=another")
	defer stopOther()
	expectLine(t, other, "event: reload")
	return lines
}

// A client requesting a page every 10 ms while the server reloads (Python
// edits, each a new process on the same socket) sees no failed request,
// and a POST sent during a reload reaches the view once.
func TestLiveReloadsLoseNoRequest(t *testing.T) {
	dir, ln, base, s := serveLivesite(t)

	var ok, failed atomic.Int64
	var lastErr atomic.Value
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			resp, err := c.Get(base + "/version")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = &statusError{resp.Status}
				}
			}
			if err != nil {
				failed.Add(1)
				lastErr.Store(err.Error())
				continue
			}
			ok.Add(1)
		}
	}()

	views := filepath.Join(dir, "livesite", "views.py")
	const reloads = 5
	var posted <-chan string
	for i := 1; i <= reloads; i++ {
		testenv.Rewrite(t, views, "VERSION = \"v"+itoa(i)+"\"", "VERSION = \"v"+itoa(i+1)+"\"")
		s.changed(t, views)
		select {
		case <-s.exited:
			err := s.exitErr
			if exit, isExit := err.(*exec.ExitError); !isExit || exit.ExitCode() != contract.ExitReload {
				t.Fatalf("reload %d: the process ended with %v, not %d:\n%s", i, err, contract.ExitReload, s.out)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("reload %d: the process did not exit:\n%s", i, s.out)
		}
		if i == 1 {
			// Nothing serves now: the POST waits in the queue.
			posted = testenv.PostLater(base+"/post", "once")
		}
		began := time.Now()
		s = startLive(t, dir, ln)
		s.waitReady(t)
		t.Logf("reload %d: ready %v after the spawn", i, time.Since(began))
		testenv.WaitBody(t, base+"/version", "v"+itoa(i+1))
	}
	if got := <-posted; got != "posted once" {
		t.Fatalf("the POST got %q", got)
	}
	testenv.WaitBody(t, base+"/version", "v"+itoa(reloads+1))
	close(done)
	wg.Wait()
	log, _ := os.ReadFile(filepath.Join(dir, "posts.log"))
	if string(log) != "once\n" {
		t.Fatalf("the view received %q", log)
	}
	t.Logf("%d requests during %d reloads, %d failed", ok.Load()+failed.Load(), reloads, failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed; the last: %v", failed.Load(), ok.Load()+failed.Load(), lastErr.Load())
	}
}

type statusError struct{ status string }

func (e *statusError) Error() string { return e.status }

func itoa(n int) string { return string(rune('0' + n)) }

// echo posts body to /echo with a few headers and returns the view's JSON.
func echo(t *testing.T, base string, body []byte) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/echo?q=1", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Custom", "a, b")
	req.Header.Set("User-Agent", "fidelity")
	c := http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Django sees the same request (client address, Host, headers, a 50 MB
// body) with and without the inherited socket, on the same address.
func TestLiveFidelity(t *testing.T) {
	dir := testenv.Project(t, "livesite")
	port := testenv.FreePort(t)
	a := portcheck.Address{Host: "127.0.0.1", Port: port}
	base := "http://" + a.Dial()
	body := bytes.Repeat([]byte("0123456789abcdef"), 50<<20/16)

	plain := exec.Command(testenv.Python(t), "manage.py", "runserver", a.String(), "--noreload")
	plain.Dir = dir
	plain.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitBody(t, base+"/version", "v1")
	want := echo(t, base, body)
	plain.Process.Kill()
	plain.Wait()
	testenv.Eventually(t, 30*time.Second, "the port to be free", func() bool { return testenv.PortFree(port) })

	ln, err := listener.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := startLive(t, dir, ln)
	s.waitReady(t)
	if got := echo(t, base, body); got != want {
		t.Fatalf("Django saw another request through the inherited socket:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(want, `"length": 52428800`) {
		t.Fatalf("the upload did not arrive whole: %s", want)
	}
}
