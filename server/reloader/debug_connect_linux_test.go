package reloader

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/procfs"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// The bootstrap's debugpy.listen connects pydevd to its adapter without
// pydevd's fixed sleep in the connecting thread, and with Nagle's
// algorithm off on pydevd's socket, whose header and body sends would
// otherwise wait for the adapter's delayed ACKs; and it leaves pydevd as it
// found it.
func TestDebugBootstrapConnectsWithoutWaiting(t *testing.T) {
	py := testenv.Python(t)
	if exec.Command(py, "-c", "import debugpy").Run() != nil {
		t.Fatalf("%s cannot import debugpy: run `make test`, which installs Debian's python3-debugpy, or install debugpy for it", py)
	}
	shim, err := WriteShim()
	if err != nil {
		t.Fatal(err)
	}
	script := loadOurs("debug") + `
import socket, threading, time
import debugpy
from debugpy.server import api
import pydevd

slept = []

class Clock:
    """pydevd's time module, recording the sleeps of this thread."""
    def __getattr__(self, name):
        return getattr(time, name)
    def sleep(self, seconds):
        if threading.current_thread() is threading.main_thread():
            slept.append(seconds)
        time.sleep(seconds)

clock, connect = Clock(), pydevd.PyDB.initialize_network
pydevd.time = clock
debug._listen(debugpy)
sock = pydevd.get_global_debugger().writer.sock
assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), "Nagle's algorithm is on on pydevd's socket"
assert not slept, "pydevd slept %r while it connected" % slept
assert pydevd.time is clock and pydevd.PyDB.initialize_network is connect, "pydevd was left patched"
print("ok", flush=True)
os._exit(0)
`
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append(DebugOptions, "-c", script, shim)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("%v\n%s", err, out)
	}
	// The adapter ends once the process it served is gone.
	testenv.Eventually(t, 10*time.Second, "the debugpy adapter to exit", func() bool {
		for _, pid := range procfs.PIDs() {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
			if strings.Contains(string(cmdline), "debugpy/adapter") && cwd == dir {
				return false
			}
		}
		return true
	})
}
