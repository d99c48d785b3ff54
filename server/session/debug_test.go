package session

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/engine"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/reloader"
)

// debugPython is an interpreter with Django and debugpy, or the test is
// skipped: `make test` installs Debian's python3-debugpy.
func debugPython(t *testing.T, py string) string {
	t.Helper()
	if exec.Command(py, "-c", "import debugpy").Run() != nil {
		t.Fatalf("%s cannot import debugpy: run `make test`, which installs Debian's python3-debugpy, or install debugpy for it", py)
	}
	return py
}

// awaitDebugReady waits for a runserver/debugReady of a process other than
// not, and returns it.
func awaitDebugReady(c *fakeeditor.Env, from, not int) protocol.DebugReadyParams {
	c.T.Helper()
	var found protocol.DebugReadyParams
	c.Await(from, fakeeditor.Expectation{
		Description: fmt.Sprintf("runserver/debugReady of a process other than %d", not),
		Check: func(msgs []fakeeditor.Message) fakeeditor.Verdict {
			for _, m := range msgs {
				var p protocol.DebugReadyParams
				if m.Method == protocol.MethodDebugReady && json.Unmarshal(m.Params, &p) == nil && p.PID != not {
					found = p
					return fakeeditor.Met
				}
			}
			return fakeeditor.Unmet
		},
	})
	return found
}

// attach attaches a DAP client to where debugReady said, with breakpoints.
func attach(t *testing.T, r protocol.DebugReadyParams, bps fakedap.Breakpoints) *fakedap.Client {
	t.Helper()
	if r.Host != "127.0.0.1" {
		t.Errorf("debugger host %q, want 127.0.0.1: only this machine may attach", r.Host)
	}
	d, err := fakedap.Dial(net.JoinHostPort(r.Host, strconv.Itoa(r.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	if err := d.Attach(bps); err != nil {
		t.Fatalf("attach to pid %d: %v", r.PID, err)
	}
	return d
}

// get requests url in the background: a breakpoint holds the reply.
func get(url string) <-chan string {
	ch := make(chan string, 1)
	go func() {
		body, err := testenv.Get(url)
		if err != nil {
			body = "error: " + err.Error()
		}
		ch <- body
	}()
	return ch
}

func body(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(fakedap.Timeout):
		t.Fatal("no reply to the request")
		return ""
	}
}

func expectStop(t *testing.T, d *fakedap.Client, from int, path string, line int) fakedap.Frame {
	t.Helper()
	f, err := d.AwaitStop(from)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != path || f.Line != line {
		t.Fatalf("stopped at %s:%d, want %s:%d", f.Path, f.Line, path, line)
	}
	// Only the developer's frames (and, marked subtle, Django's): nothing
	// of the backend's own files (the shim, the page's and the kept
	// socket's wrappers, the preloader, the debug bootstrap).
	for _, p := range f.Stack {
		if slices.Contains(reloader.Scripts, filepath.Base(p)) && !strings.HasPrefix(p, dirOf(path)) {
			t.Errorf("the call stack shows the backend's frame %s: %q", p, f.Stack)
		}
	}
	return f
}

// hit requests path, expects the request to stop at file:line, continues,
// and returns the reply.
func hit(t *testing.T, d *fakedap.Client, url, file string, line int) string {
	t.Helper()
	mark := d.Mark()
	reply := get(url)
	f := expectStop(t, d, mark, file, line)
	if err := d.Continue(f.ThreadID); err != nil {
		t.Fatal(err)
	}
	return body(t, reply)
}

// debugSite is a copy of mysite with an editor initialized on it, to serve
// on django under the debugger; not started yet.
type debugSite struct {
	c          *fakeeditor.Env
	dir, views string
	port       int
	url        string // the server's root
}

func newDebugSite(t *testing.T, django testenv.Django) debugSite {
	t.Helper()
	debugPython(t, django.Python)
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	c := fakeeditor.New(t, Serve)
	c.Initialize(onDjango(django, port), dir)
	return debugSite{c: c, dir: dir, port: port, views: filepath.Join(dir, "polls", "views.py"),
		url: fmt.Sprintf("http://127.0.0.1:%d/", port)}
}

// startDebugged starts c's server under the debugger, attaches a DAP
// client to where debugReady says, once, with breakpoints, and waits until
// the server serves.
func startDebugged(t *testing.T, c *fakeeditor.Env, bps fakedap.Breakpoints) (protocol.DebugReadyParams, *fakedap.Client) {
	t.Helper()
	from := c.Mark()
	var st protocol.Status
	c.Call(protocol.MethodStart, protocol.StartParams{Debug: true}, &st)
	if st.State != protocol.StateStarting || st.Debug == nil {
		t.Fatalf("start replied %+v, want starting under the debugger", st)
	}
	r := awaitDebugReady(c, from, 0)
	d := attach(t, r, bps)
	awaitServing(c, from, r.PID)
	return r, d
}

// awaitServing waits until the process pid serves.
func awaitServing(c *fakeeditor.Env, from, pid int) protocol.Status {
	c.T.Helper()
	return c.AwaitStatusWithin(fakedap.Timeout, from, "", fmt.Sprintf("running in pid %d", pid), func(s protocol.Status) bool {
		return s.State == protocol.StateRunning && s.PID == pid
	})
}

// followed waits for the process that follows old, and checks that the
// session d, attached once, went on with it: on the same address, told of
// the new process by a process event, never ended. It returns once the new
// process serves.
func followed(t *testing.T, c *fakeeditor.Env, d *fakedap.Client, from, mark int, old protocol.DebugReadyParams) protocol.DebugReadyParams {
	t.Helper()
	r := awaitDebugReady(c, from, old.PID)
	if r.Host != old.Host || r.Port != old.Port {
		t.Fatalf("the debugger's address moved from %s:%d to %s:%d", old.Host, old.Port, r.Host, r.Port)
	}
	if _, err := d.Await(mark, fmt.Sprintf("a process event of pid %d", r.PID), func(m fakedap.Message) bool {
		var p struct {
			PID int `json:"systemProcessId"`
		}
		return m.Event == "process" && json.Unmarshal(m.Body, &p) == nil && p.PID == r.PID
	}); err != nil {
		t.Fatalf("the session attached once did not follow the new process %d: %v", r.PID, err)
	}
	awaitServing(c, from, r.PID)
	return r
}

// The Debug Server at the level of the Debug Adapter Protocol, with real
// Django and debugpy: breakpoints are hit after every reload, in the new
// process, with the new code; a save while paused waits for continue, or a
// restart; a stop ends the debug session and leaves no process.
func TestDebugBreakpointsSurviveReloads(t *testing.T) {
	testenv.RunDjangos(t, debugBreakpointsSurviveReloads)
}

func debugBreakpointsSurviveReloads(t *testing.T, django testenv.Django) {
	s := newDebugSite(t, django)
	c, dir, views, url := s.c, s.dir, s.views, s.url
	template := filepath.Join(dir, "polls", "templates", "polls", "index.html")
	viewLine := testenv.LineOf(t, views, "return HttpResponse(")
	templateLine := testenv.LineOf(t, template, "{{ title }}")
	bps := fakedap.Breakpoints{views: {viewLine}, template: {templateLine}}

	// Start under the debugger: debugReady, attach, then the server serves.
	r, d := startDebugged(t, c, bps)
	var st protocol.Status
	c.Call(protocol.MethodStatus, protocol.FolderParams{}, &st)
	if st.Debug == nil || !st.Debug.Attached || st.Debug.Port != r.Port {
		t.Fatalf("running status %+v (debug %+v), want attached on port %d", st, st.Debug, r.Port)
	}

	// The view's breakpoint, then the template's.
	if b := hit(t, d, url+"hello/", views, viewLine); b != "hello from the view" {
		t.Fatalf("body %q", b)
	}
	if b := hit(t, d, url, template, templateLine); !strings.Contains(b, "Django Runserver sample") {
		t.Fatalf("body %q", b)
	}

	// Five edits: each reload is a new process, which the debugger,
	// attached once, follows on the same address, and the breakpoint is
	// hit in the new code.
	text := "hello from the view"
	for i := 1; i <= 5; i++ {
		next := fmt.Sprintf("hello from edit %d", i)
		from, mark := c.Mark(), d.Mark()
		testenv.Rewrite(t, views, text, next)
		c.Save(views)
		r = followed(t, c, d, from, mark, r)
		if b := hit(t, d, url+"hello/", views, viewLine); b != next {
			t.Fatalf("edit %d: body %q, want %q", i, b, next)
		}
		text = next
	}
	c.Call(protocol.MethodStatus, protocol.FolderParams{}, &st)
	if st.Reloads != 5 {
		t.Errorf("reloads = %d after five edits", st.Reloads)
	}

	// A save while paused waits for continue, and says so.
	mark := d.Mark()
	reply := get(url + "hello/")
	f := expectStop(t, d, mark, views, viewLine)
	from := c.Mark()
	testenv.Rewrite(t, views, text, "hello after the pause")
	c.Save(views)
	pending := c.AwaitStatusWithin(fakedap.Timeout, from, "", "reload pending", func(s protocol.Status) bool {
		return s.Debug != nil && s.Debug.Paused && s.Debug.ReloadPending
	})
	if pending.State != protocol.StateRunning || pending.PID != r.PID {
		t.Fatalf("while paused: %+v, want the same process running", pending)
	}
	// The change is seen by now (the status said so); the process must
	// still be there, paused, whatever the watcher adds.
	c.Call(protocol.MethodStatus, protocol.FolderParams{}, &st)
	if st.PID != r.PID || testenv.ProcessGone(r.PID) || st.State != protocol.StateRunning {
		t.Fatalf("a save while paused restarted the process: %+v", st)
	}
	from, mark = c.Mark(), d.Mark()
	if err := d.Continue(f.ThreadID); err != nil {
		t.Fatal(err)
	}
	if b := body(t, reply); b != text {
		t.Fatalf("the paused request answered %q, want the old code's %q", b, text)
	}
	r = followed(t, c, d, from, mark, r)
	if b := hit(t, d, url+"hello/", views, viewLine); b != "hello after the pause" {
		t.Fatalf("after the pending reload: body %q", b)
	}

	// Paused with a change pending, a restart applies it at once.
	mark = d.Mark()
	reply = get(url + "hello/")
	expectStop(t, d, mark, views, viewLine)
	from, mark = c.Mark(), d.Mark()
	testenv.Rewrite(t, views, "hello after the pause", "hello after the restart")
	c.Save(views)
	c.AwaitStatusWithin(fakedap.Timeout, from, "", "reload pending", func(s protocol.Status) bool {
		return s.Debug != nil && s.Debug.ReloadPending
	})
	restarted := time.Now()
	c.Call(protocol.MethodRestart, protocol.FolderParams{}, &st)
	old := r.PID
	r = followed(t, c, d, from, mark, r)
	t.Logf("restart while paused: the new process serves %s after the request", time.Since(restarted).Round(time.Millisecond))
	if !testenv.ProcessGone(old) {
		t.Errorf("the paused process %d outlived the restart", old)
	}
	body(t, reply) // the paused request ends with its process
	if b := hit(t, d, url+"hello/", views, viewLine); b != "hello after the restart" {
		t.Fatalf("after the restart: body %q", b)
	}

	// Stop: the debug session ends, terminated, and no process is left,
	// debugpy's adapter included. Until then, it never ended.
	for _, m := range d.Messages() {
		if m.Event == "terminated" || m.Event == "exited" {
			t.Fatalf("the session attached once heard %s before the server stopped", m.Event)
		}
	}
	adapter := debugpyAdapter(t, dir)
	from, mark = c.Mark(), d.Mark()
	c.Stop("")
	if _, err := d.AwaitEvent(mark, "terminated"); err != nil {
		t.Fatalf("the debug session did not hear terminated when the server stopped: %v", err)
	}
	select {
	case <-d.Done():
	case <-time.After(fakedap.Timeout):
		t.Fatal("the debug session did not end with the server")
	}
	c.Await(from, fakeeditor.Count(protocol.MethodDebugGone, 1))
	testenv.Eventually(t, 10*time.Second, "the server and debugpy's adapter to exit", func() bool {
		return testenv.ProcessGone(r.PID) && testenv.ProcessGone(adapter)
	})
}

// An interpreter without debugpy fails the start, with the command that
// installs it. The interpreter is real: a virtual environment with the
// real Django on its path, and nothing else.
func TestDebugWithoutDebugpy(t *testing.T) {
	py := testenv.Python(t)
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(py, "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("cannot make a virtual environment: %v\n%s", err, out)
	}
	// Django and what it imports, linked from where the system has them.
	site := t.TempDir()
	out, err := exec.Command(py, "-c", "import django, asgiref, sqlparse, pytz, os\n"+
		"for m in (django, asgiref, sqlparse, pytz): print(os.path.dirname(m.__file__))").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if err := os.Symlink(pkg, filepath.Join(site, filepath.Base(pkg))); err != nil {
			t.Fatal(err)
		}
	}
	venvPython := filepath.Join(venv, "bin", "python")
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, testenv.FreePort(t), "python", venvPython, "env", map[string]any{"PYTHONPATH": site}), dir)
	from := c.Mark()
	var st protocol.Status
	c.Call(protocol.MethodStart, protocol.StartParams{Debug: true}, &st)
	failed := c.AwaitState(from, "", protocol.StateFailed)
	e := failed.Error
	if e == nil || e.Code != protocol.CodeDebugpyNotFound || e.Setting != "python" ||
		!strings.Contains(e.Message, "python3-debugpy") || !strings.Contains(e.Message, venvPython+" -m pip install debugpy") {
		t.Fatalf("failed with %+v, want debugpy-not-found naming python3-debugpy and pip install debugpy", e)
	}
	// Without the debugger the same interpreter serves.
	from = c.Mark()
	c.Call(protocol.MethodStart, protocol.StartParams{}, &st)
	c.AwaitState(from, "", protocol.StateRunning)
}

// Backend kill -9 while a debugger is attached: within 2 s the server and
// debugpy's adapter (which leaves the process group) are gone.
func TestDebugBackendKilledLeavesNothing(t *testing.T) {
	py := debugPython(t, testenv.Python(t))
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.NewBinary(t, testenv.Binary(t))
	c.Initialize(settings(t, testenv.FreePort(t), "python", py), dir)
	from := c.Mark()
	var st protocol.Status
	c.Call(protocol.MethodStart, protocol.StartParams{Debug: true}, &st)
	ready := awaitDebugReady(c, from, 0)
	d := attach(t, ready, nil)
	c.AwaitState(from, "", protocol.StateRunning)
	adapter := debugpyAdapter(t, dir)
	c.Kill()
	if !eventually(2*time.Second, func() bool { return testenv.ProcessGone(ready.PID) && testenv.ProcessGone(adapter) }) {
		t.Fatalf("2 s after kill -9 of the backend: server %d gone %v, debugpy's adapter %d gone %v",
			ready.PID, testenv.ProcessGone(ready.PID), adapter, testenv.ProcessGone(adapter))
	}
	select {
	case <-d.Done():
	case <-time.After(fakedap.Timeout):
		t.Fatal("the debug session outlived the backend")
	}
}

// eventually reports whether cond holds within timeout.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Under the debugger no request is refused: one sent as soon as the editor
// hears where to attach, before it has, waits in the socket's queue and
// stops at its breakpoint once the debugger set it; so does one sent right
// after configurationDone. At a start, and after a reload, where the
// relay configures the new process for the session attached once.
func TestDebugNeverRefusesARequest(t *testing.T) {
	testenv.RunDjangos(t, debugNeverRefusesARequest)
}

func debugNeverRefusesARequest(t *testing.T, django testenv.Django) {
	s := newDebugSite(t, django)
	c, views, port, url := s.c, s.views, s.port, s.url+"hello/"
	line := testenv.LineOf(t, views, "return HttpResponse(")

	from := c.Mark()
	var st protocol.Status
	c.Call(protocol.MethodStart, protocol.StartParams{Debug: true}, &st)
	r := awaitDebugReady(c, from, 0)
	early := sendNow(t, port, "/hello/") // connected before the attach, or refused
	d, err := fakedap.Dial(net.JoinHostPort(r.Host, strconv.Itoa(r.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	mark := d.Mark()
	if err := d.Attach(fakedap.Breakpoints{views: {line}}); err != nil {
		t.Fatal(err)
	}
	want := "hello from the view"
	for _, what := range []string{"at the start", "after a reload"} {
		f := expectStop(t, d, mark, views, line)
		if err := d.Continue(f.ThreadID); err != nil {
			t.Fatal(err)
		}
		if b := body(t, early); !strings.HasSuffix(b, want) {
			t.Fatalf("%s: the request sent before the attach got %q, want %q", what, b, want)
		}
		if b := hit(t, d, url, views, line); b != want {
			t.Fatalf("%s: the request sent after configurationDone got %q", what, b)
		}
		if want == "hello from the view" {
			from, mark = c.Mark(), d.Mark()
			want = "hello after a reload"
			testenv.Rewrite(t, views, "hello from the view", want)
			c.Save(views)
			r = awaitDebugReady(c, from, r.PID)
			early = sendNow(t, port, "/hello/") // before the relay has configured the new process
		}
	}
}

// sendNow connects to the server at once, failing the test if it refuses,
// sends a GET of path, and delivers the raw reply, or the error's text.
func sendNow(t *testing.T, port int, path string) <-chan string {
	t.Helper()
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("the server refused a request: %v", err)
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1)
	go func() {
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(2 * fakedap.Timeout))
		b, err := io.ReadAll(conn)
		if err != nil {
			b = append(b, "error: "+err.Error()...)
		}
		ch <- string(b)
	}()
	return ch
}

// dirOf is the project folder of one of its files: two levels up (app, project).
func dirOf(path string) string { return filepath.Dir(filepath.Dir(path)) }

// A debugger that disconnects ends its session, and the server runs on:
// the next reload serves at once, with nobody attached to wait for. One
// that attaches again, to the same address, joins the process that runs,
// and follows the reloads after it.
func TestDebugDetachThenAttachAgain(t *testing.T) {
	s := newDebugSite(t, testenv.Django{Python: testenv.Python(t)})
	c, views, url := s.c, s.views, s.url+"hello/"
	line := testenv.LineOf(t, views, "return HttpResponse(")
	bps := fakedap.Breakpoints{views: {line}}
	r, d := startDebugged(t, c, bps)
	if _, err := d.Request("disconnect", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	case <-time.After(fakedap.Timeout):
		t.Fatal("the session outlived the debugger's disconnect")
	}

	from := c.Mark()
	testenv.Rewrite(t, views, "hello from the view", "hello after the detach")
	c.Save(views)
	r = awaitDebugReady(c, from, r.PID)
	running := awaitServing(c, from, r.PID)
	if b, err := testenv.Get(url); err != nil || b != "hello after the detach" {
		t.Fatalf("with no debugger attached: %q, %v", b, err)
	}
	for _, m := range c.Since(from) {
		if m.Method == protocol.MethodShowMessage && strings.Contains(string(m.Params), "No debugger attached") {
			t.Fatalf("the reload after the detach waited for a debugger: %s", m.Params)
		}
	}
	if running.LastReloadMs != nil && *running.LastReloadMs >= float64(engine.DebugAttachWait.Milliseconds()) {
		t.Fatalf("the reload after the detach took %.0f ms: it waited for a debugger", *running.LastReloadMs)
	}

	d = attach(t, r, bps)
	if b := hit(t, d, url, views, line); b != "hello after the detach" {
		t.Fatalf("attached again: body %q", b)
	}
	from, mark := c.Mark(), d.Mark()
	testenv.Rewrite(t, views, "hello after the detach", "hello attached again")
	c.Save(views)
	followed(t, c, d, from, mark, r)
	if b := hit(t, d, url, views, line); b != "hello attached again" {
		t.Fatalf("after a reload: body %q", b)
	}
}
