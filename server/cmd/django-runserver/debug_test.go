//go:build unix

package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// run -debug prints where a debugger attaches; once one has, the server
// serves.
func TestTerminalDebugSaysWhereToAttach(t *testing.T) {
	py := testenv.Python(t)
	if exec.Command(py, "-c", "import debugpy").Run() != nil {
		t.Fatalf("%s cannot import debugpy: run `make test`, which installs Debian's python3-debugpy", py)
	}
	_, port, cmd, out := startTerminal(t, "-debug")
	where := regexp.MustCompile(`debugger of pid \d+ listening on (127\.0\.0\.1:\d+) \(Debug Adapter Protocol`)
	var addr string
	testenv.Eventually(t, 60*time.Second, "the line that says where to attach", func() bool {
		if m := where.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	d, err := fakedap.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Attach(nil); err != nil {
		t.Fatalf("attach to %s: %v\n%s", addr, err, out.String())
	}
	testenv.WaitBody(t, fmt.Sprintf("http://127.0.0.1:%d/hello/", port), "hello from the view")
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
