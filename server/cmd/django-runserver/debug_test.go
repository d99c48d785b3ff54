//go:build unix

package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// attachLine is the terminal's line that says where a debugger attaches.
var attachLine = regexp.MustCompile(`debugger: attach once to (127\.0\.0\.1:\d+) \(Debug Adapter Protocol, as to a debugpy adapter\); the session stays attached across reloads, on this address for the whole run`)

// startDebugTerminal runs the terminal with flag (-debug or -debug-wait),
// and returns the address its line says a debugger attaches to.
func startDebugTerminal(t *testing.T, flag string) (dir string, port int, cmd *exec.Cmd, out *testenv.Buffer, addr string) {
	t.Helper()
	py := testenv.Python(t)
	if exec.Command(py, "-c", "import debugpy").Run() != nil {
		t.Fatalf("%s cannot import debugpy: run `make test`, which installs Debian's python3-debugpy", py)
	}
	dir, port, cmd, out = startTerminal(t, flag)
	testenv.Eventually(t, 60*time.Second, "the line that says where to attach", func() bool {
		if m := attachLine.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return dir, port, cmd, out, addr
}

// run -debug serves at once, with no debugger attached, and prints where
// one attaches; one that does stops a request at its breakpoint.
func TestTerminalDebugSaysWhereToAttach(t *testing.T) {
	dir, port, cmd, out, addr := startDebugTerminal(t, "-debug")
	url := fmt.Sprintf("http://127.0.0.1:%d/hello/", port)
	// Once the line is out the server listens, and serves without waiting.
	if body, err := testenv.Get(url); err != nil || body != "hello from the view" {
		t.Fatalf("run -debug with no debugger attached: %q, %v, want the view's reply at once\n%s", body, err, out.String())
	}
	views := filepath.Join(dir, "polls", "views.py")
	line := testenv.LineOf(t, views, "return HttpResponse(")
	d := dialDebugger(t, addr, fakedap.Breakpoints{views: {line}})
	stopAndContinue(t, d, url, views, line)

	// A reload: the debugger, attached once, stays, and stops in the new
	// process's code.
	mark := d.Mark()
	testenv.Rewrite(t, views, "hello from the view", "hello after a reload")
	if _, err := d.AwaitEvent(mark, "process"); err != nil {
		t.Fatalf("the session did not follow the new process: %v\n%s", err, out.String())
	}
	testenv.Eventually(t, fakedap.Timeout, "the reload's status line", func() bool { return strings.Contains(out.String(), "reloaded in") })
	stopAndContinue(t, d, url, views, line)
	// One line says where to attach; nothing else names an address.
	if text := out.String(); len(attachLine.FindAllString(text, -1)) != 1 || strings.Contains(text, "listening on") {
		t.Errorf("want one line that says where to attach, and no other address:\n%s", text)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	case <-time.After(fakedap.Timeout):
		t.Fatal("the debug session outlived the server")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("run -debug ended with %v after Ctrl-C:\n%s", err, out.String())
	}
}

// run -debug-wait holds the first request until a debugger attaches, as
// debugpy --wait-for-client does: the request is not refused, and once
// the debugger has set its breakpoints it stops at them.
func TestTerminalDebugWaitWaitsForTheDebugger(t *testing.T) {
	dir, port, _, out, addr := startDebugTerminal(t, "-debug-wait")
	url := fmt.Sprintf("http://127.0.0.1:%d/hello/", port)
	// Sent before any debugger attached: served at once, it would answer
	// long before the attach below has set the breakpoint, and never stop.
	reply := make(chan string, 1)
	go func() {
		body, err := testenv.GetWithin(url, 2*fakedap.Timeout)
		if err != nil {
			body = "error: " + err.Error()
		}
		reply <- body
	}()
	views := filepath.Join(dir, "polls", "views.py")
	line := testenv.LineOf(t, views, "return HttpResponse(")
	d, err := fakedap.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	mark := d.Mark()
	if err := d.Attach(fakedap.Breakpoints{views: {line}}); err != nil {
		t.Fatalf("attach to %s: %v\n%s", addr, err, out.String())
	}
	f, err := d.AwaitStop(mark)
	if err != nil {
		t.Fatalf("the request sent before the attach did not stop at its breakpoint: %v\n%s", err, out.String())
	}
	if f.Path != views || f.Line != line {
		t.Fatalf("stopped at %s:%d, want %s:%d", f.Path, f.Line, views, line)
	}
	if err := d.Continue(f.ThreadID); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-reply:
		if b != "hello from the view" {
			t.Fatalf("the request sent before the attach got %q", b)
		}
	case <-time.After(fakedap.Timeout):
		t.Fatal("no reply after continue")
	}
	if strings.Contains(out.String(), "no debugger attached") {
		t.Errorf("-debug-wait gave up waiting:\n%s", out.String())
	}
}

func dialDebugger(t *testing.T, addr string, bps fakedap.Breakpoints) *fakedap.Client {
	t.Helper()
	d, err := fakedap.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	if err := d.Attach(bps); err != nil {
		t.Fatalf("attach to %s: %v", addr, err)
	}
	return d
}

// stopAndContinue requests url, expects it to stop at file:line, and
// continues.
func stopAndContinue(t *testing.T, d *fakedap.Client, url, file string, line int) {
	t.Helper()
	mark := d.Mark()
	reply := make(chan error, 1)
	go func() { _, err := testenv.Get(url); reply <- err }()
	f, err := d.AwaitStop(mark)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != file || f.Line != line {
		t.Fatalf("stopped at %s:%d, want %s:%d", f.Path, f.Line, file, line)
	}
	if err := d.Continue(f.ThreadID); err != nil {
		t.Fatal(err)
	}
	if err := <-reply; err != nil {
		t.Fatal(err)
	}
}
