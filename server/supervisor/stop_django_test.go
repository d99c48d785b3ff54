//go:build unix

package supervisor_test

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/reloader"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// TestStopRightAfterReady stops a real fast-mode Django at the moment its
// stop used to be lost: right after its first connection (the backend's
// readiness probe) was served. The request thread that served it is then
// dropped from threading's WeakSet by a weakref callback, and a
// KeyboardInterrupt raised inside that callback was printed as "Exception
// ignored" and discarded; the server kept serving until the kill fallback.
// The shim's own SIGINT handler exits with 130, so every stop must end by the
// interrupt, never by the kill.
func TestStopRightAfterReady(t *testing.T) {
	py := testenv.Python(t)
	dir := testenv.Project(t, "mysite")
	shim, err := reloader.WriteShim()
	if err != nil {
		t.Fatal(err)
	}
	env, err := config.Environ(dir, "", nil, reloader.Env(protocol.ReloadFast))
	if err != nil {
		t.Fatal(err)
	}
	const stops = 10 // about one in four was lost: ten make a miss near certain
	for i := range stops {
		addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		p, err := supervisor.Start(supervisor.Spec{
			Path: py,
			Args: reloader.Args(shim, protocol.ReloadFast, filepath.Join(dir, "manage.py"), addr, nil),
			Dir:  dir,
			Env:  env,
		})
		if err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 60*time.Second, "Django to accept connections on "+addr, func() bool {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return false
			}
			c.Close()
			return true
		})
		// What the engine sends once the server runs.
		if err := p.Send(""); err != nil {
			t.Fatal(err)
		}
		// A grace far longer than any interrupted exit: reaching it means the
		// interrupt was lost.
		p.Stop(30 * time.Second)
		switch code := p.ExitCode(); code {
		case contract.ExitInterrupted:
		case -1:
			t.Fatalf("stop %d of %d: the interrupt was lost and the kill fallback ended Django", i+1, stops)
		default:
			t.Fatalf("stop %d of %d: Django exited with %d, want %d (ended by the interrupt)", i+1, stops, code, contract.ExitInterrupted)
		}
	}
}
