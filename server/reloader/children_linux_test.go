package reloader

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// In "django" mode Django's reloader serves from a child it starts. However
// the reloader dies, here by SIGKILL, which runs none of its code, and with
// its stdin still open, the child dies with it: a dev server never serves on
// alone, holding the port.
func TestDjangoChildDiesWithItsReloader(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, django testenv.Django) {
		shim, err := WriteShim()
		if err != nil {
			t.Fatal(err)
		}
		port := testenv.FreePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(django.Python, Args(shim, protocol.ReloadDjango, "manage.py", addr, nil)...)
		cmd.Dir = testenv.Project(t, "livesite")
		cmd.Env = append(django.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out := &testenv.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = time.Second   // a child left serving holds the output pipes
		stdin, err := cmd.StdinPipe() // held open: the stdin watch sees no end
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		reloader := cmd.Process.Pid
		t.Cleanup(func() {
			_ = syscall.Kill(-reloader, syscall.SIGKILL)
			stdin.Close()
		})
		testenv.WaitServed(t, "http://"+addr+"/", 30*time.Second, "a page", func(string) bool { return true })
		children := childrenOf(reloader)
		if len(children) != 1 {
			t.Fatalf("the reloader has children %v, want the one that serves\n%s", children, out)
		}
		child := children[0]
		if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child)); !strings.Contains(string(cmdline), shim) {
			t.Errorf("the serving child runs %q, not through the shim", strings.ReplaceAll(string(cmdline), "\x00", " "))
		}

		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		testenv.Eventually(t, 5*time.Second, fmt.Sprintf("the serving child %d to die with its reloader", child), func() bool {
			return testenv.ProcessGone(child)
		})
		testenv.Eventually(t, 5*time.Second, fmt.Sprintf("port %d to be free", port), func() bool { return testenv.PortFree(port) })
	})
}

// childrenOf lists the live children of pid.
func childrenOf(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if child, err := strconv.Atoi(f); err == nil && !testenv.ProcessGone(child) {
			out = append(out, child)
		}
	}
	return out
}
