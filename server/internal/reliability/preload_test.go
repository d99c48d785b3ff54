//go:build linux

package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// TestBackendKilledLeavesNoPreloader kills the backend binary with -9 while
// a warm server, forked from a preloader, serves and both preloaders (one
// with the modules imported, one with Django set up too) wait beside it:
// within 2 s all are gone and the port is free.
func TestBackendKilledLeavesNoPreloader(t *testing.T) {
	dir, port, ed := openTiny(t, newBinaryEditor, "warm", "v0", "preload", "auto")
	running := ed.StartRunning(dir)
	deadline := time.Now().Add(fakeeditor.AwaitTimeout)
	for i := 1; running.Start != protocol.StartWarm; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no reload was warm within %s: %s", fakeeditor.AwaitTimeout, running.ColdReason)
		}
		from := ed.Mark()
		ed.Save(setVersion(t, dir, fmt.Sprintf("v%d", i)))
		running = ed.AwaitState(from, dir, protocol.StateRunning)
		waitBody(t, running.URL, fmt.Sprintf("tiny v%d", i), 10*time.Second)
	}
	if err := ed.Editor.Await(fakeeditor.AwaitTimeout, 0, fakeeditor.TextContains(protocol.MethodLogMessage, "set Django up ahead:")); err != nil {
		t.Fatal(err)
	}
	tree := descendants(ed.PID())[1:] // the backend's: the warm server and the preloaders
	if len(tree) < 3 || len(pids(dir, 0)) < 3 {
		t.Fatalf("want a warm server and two preloaders, found %v (of %s: %v)", tree, dir, pids(dir, 0))
	}
	killed := time.Now()
	killPID(t, ed.PID())
	if _, ok := ed.Exited(5 * time.Second); !ok {
		t.Fatal("the backend survived kill -9")
	}
	if !eventually(2*time.Second, func() bool { return allGone(tree) && len(pids(dir, 0)) == 0 }) {
		t.Fatalf("2 s after the backend was killed, processes remain: %s (tree %v)", described(pids(dir, 0)), tree)
	}
	took := time.Since(killed)
	if !eventually(time.Second, func() bool { return testenv.PortFree(port) }) {
		t.Errorf("port %d still taken after the backend died", port)
	}
	t.Logf("%d process(es), the preloaders among them, gone %s after kill -9 of the backend", len(tree), took.Round(time.Millisecond))
}
