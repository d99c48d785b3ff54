package session

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/internal/procfs"
)

// debugpyAdapter is the pid of the debugpy adapter a server process of the
// project in dir started: it leaves the process group, but keeps the
// process's working directory.
func debugpyAdapter(t *testing.T, dir string) int {
	t.Helper()
	for _, pid := range procfs.PIDs() {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if strings.Contains(string(cmd), "debugpy/adapter") && cwd == dir {
			return pid
		}
	}
	t.Fatalf("no debugpy adapter runs in %s", dir)
	return 0
}
