//go:build unix

package main

import (
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

func TestTerminalExplainsAHeldPort(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	holder := exec.Command(testenv.Python(t), "-c", fmt.Sprintf(
		"import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',%d))\ns.listen()\nprint('ok',flush=True)\ntime.sleep(600)", port))
	hout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	buf := make([]byte, 3)
	io.ReadFull(hout, buf)

	cmd := exec.Command(testenv.Binary(t), "run", "--python", testenv.Python(t), dir, fmt.Sprintf("127.0.0.1:%d", port))
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d (%v), want 1", code, err)
	}
	want := fmt.Sprintf("Port %d is in use by PID %d (", port, holder.Process.Pid)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "Use port ") || !strings.Contains(string(out), "-on-port-conflict nextFree") {
		t.Errorf("output does not explain the conflict (%q) and suggest a port:\n%s", want, out)
	}
}

// startTerminal starts `django-runserver run` with flags on a copy of mysite
// and a free port, its output gathered in out. The test's end kills and
// reaps it if it still runs.
func startTerminal(t *testing.T, flags ...string) (dir string, port int, cmd *exec.Cmd, out *testenv.Buffer) {
	t.Helper()
	dir = testenv.Project(t, "mysite")
	port = testenv.FreePort(t)
	args := append(append([]string{"run"}, flags...), "--python", testenv.Python(t), dir, fmt.Sprint(port))
	cmd = exec.Command(testenv.Binary(t), args...)
	out = &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return dir, port, cmd, out
}

func TestTerminalServesAndStopsOnInterrupt(t *testing.T) {
	dir, port, cmd, out := startTerminal(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	testenv.WaitBody(t, url, "Django Runserver sample")
	testenv.Rewrite(t, filepath.Join(dir, "polls", "views.py"), "hello from the view", "hello from the terminal")
	testenv.WaitBody(t, url+"hello/", "hello from the terminal")
	testenv.Eventually(t, 10*time.Second, "the reload's status line", func() bool {
		return strings.Contains(out.String(), "reloaded in")
	})
	// A template and a static file are served as they are now, and the
	// terminal says so.
	for _, f := range []struct{ path, old, new string }{
		{filepath.Join(dir, "polls", "templates", "polls", "index.html"), "</h1>", "!</h1>"},
		{filepath.Join(dir, "polls", "static", "polls", "style.css"), "sans-serif", "serif"},
	} {
		testenv.Rewrite(t, f.path, f.old, f.new)
		testenv.Eventually(t, 10*time.Second, "a line for "+f.path, func() bool {
			return strings.Contains(out.String(), f.path+" changed, served without a restart.")
		})
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after Ctrl-C: %v", err)
	}
	if !testenv.PortFree(port) {
		t.Errorf("port %d still held after Ctrl-C", port)
	}
	text := out.String()
	for _, want := range []string{"running at " + url, "stopped", "Watching for file changes with django-runserver"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, text)
		}
	}
}

// A request's exception gets one line that says where, beside Django's own
// traceback; the template's line, which Django's log lacks. The shim's
// report itself is not printed.
func TestTerminalPointsAtARequestsException(t *testing.T) {
	dir, port, _, out := startTerminal(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	testenv.WaitBody(t, url, "Django Runserver sample")
	page := filepath.Join(dir, "polls", "templates", "polls", "index.html")
	testenv.Rewrite(t, page, "<h1>{{ title }}</h1>", "<h1>{% no_such_tag %}</h1>")
	testenv.Eventually(t, 10*time.Second, "the template served as it is now", func() bool {
		return strings.Contains(out.String(), page+" changed, served without a restart.")
	})
	want := "GET / raised django.template.exceptions.TemplateSyntaxError: Invalid block tag on line 8: 'no_such_tag'"
	if _, err := testenv.Get(url); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("GET %s: %v, want a 500", url, err)
	}
	testenv.Eventually(t, 10*time.Second, "the line that says where", func() bool {
		return strings.Contains(out.String(), want)
	})
	text := out.String()
	if n := strings.Count(text, want); n != 1 || !strings.Contains(text, "(polls/templates/polls/index.html:8)") {
		t.Errorf("%d lines of %q, want one that ends at index.html:8:\n%s", n, want, text)
	}
	if strings.Contains(text, contract.RequestErrorPrefix) {
		t.Errorf("the shim's report was printed:\n%s", text)
	}
}
