package session

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/internal/procfs"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// debugpyAdapter is the pid of the debugpy adapter a server process of the
// project in dir started: it leaves the process group, but keeps the
// process's working directory.
func debugpyAdapter(t *testing.T, dir string) int {
	t.Helper()
	pids := debugpyAdapters(dir)
	if len(pids) == 0 {
		t.Fatalf("no debugpy adapter runs in %s", dir)
	}
	return pids[0]
}

// debugpyAdapters are the debugpy adapters that run in dir.
func debugpyAdapters(dir string) []int {
	var pids []int
	for _, pid := range procfs.PIDs() {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if strings.Contains(string(cmd), "debugpy/adapter") && cwd == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Under the debugger a reload forks warm from the preloader, which
// imported debugpy and never started it: the child starts its own debug
// server before it imports the project's code, so a breakpoint in
// views.py's module-level code is hit, in the session attached once; then
// its view's. From Django set up ahead (a view changed), and from the
// modules alone (a model changed too, so the set-up is stale).
func TestDebugWarmReloadHitsModuleLevelBreakpoints(t *testing.T) {
	testenv.RunDjangos(t, debugWarmReloadHitsModuleLevelBreakpoints)
}

func debugWarmReloadHitsModuleLevelBreakpoints(t *testing.T, django testenv.Django) {
	s := newDebugSite(t, django)
	c, dir, views, url := s.c, s.dir, s.views, s.url+"hello/"
	models := filepath.Join(dir, "polls", "models.py")
	testenv.Rewrite(t, views, "def hello(request):", "MODULE_LEVEL = 0\n\n\ndef hello(request):")
	moduleLine := testenv.LineOf(t, views, "MODULE_LEVEL = ")
	viewLine := testenv.LineOf(t, views, "return HttpResponse(")

	from := c.Mark()
	r, d := startDebugged(t, c, nil)
	awaitSetUp(c, from) // both preload levels are ready
	// Set once the first process serves, its module-level code run: the
	// breakpoints reach each later process with the session.
	if err := d.SetBreakpoints(views, moduleLine, viewLine); err != nil {
		t.Fatal(err)
	}

	for i, setUpAhead := range []bool{true, false} {
		from, mark := c.Mark(), d.Mark()
		if !setUpAhead { // written first, saved with the view: one reload
			testenv.Rewrite(t, models, "class Question(", "# a model changed\nclass Question(")
		}
		testenv.Rewrite(t, views, fmt.Sprintf("MODULE_LEVEL = %d", i), fmt.Sprintf("MODULE_LEVEL = %d", i+1))
		if !setUpAhead {
			c.Save(models)
		}
		c.Save(views)
		f := expectStop(t, d, mark, views, moduleLine)
		if err := d.Continue(f.ThreadID); err != nil {
			t.Fatal(err)
		}
		r = followed(t, c, d, from, mark, r)
		running := awaitServing(c, from, r.PID)
		if running.Start != protocol.StartWarm || running.SetUpAhead != setUpAhead {
			t.Fatalf("reload %d: started %s (%s), set up ahead %v; want warm under the debugger, set up ahead %v",
				i+1, running.Start, running.ColdReason, running.SetUpAhead, setUpAhead)
		}
		if b := hit(t, d, url, views, viewLine); b != "hello from the view" {
			t.Fatalf("reload %d: body %q", i+1, b)
		}
		if running.LastReloadMs != nil {
			t.Logf("reload %d: warm under the debugger in %.0f ms, set up ahead %v (the relay's replay included)", i+1, *running.LastReloadMs, setUpAhead)
		}
	}
	// Each process's adapter ends once the relay leaves it: only the live
	// one's is left.
	testenv.Eventually(t, 10*time.Second, "the adapters of the processes that went to exit", func() bool {
		return len(debugpyAdapters(dir)) <= 1
	})
}

// Backend kill -9 while a debugger is attached to a warm, forked process:
// within 2 s that process, the preloaders and every debugpy adapter of
// the project are gone.
func TestDebugBackendKilledAfterWarmReloadLeavesNothing(t *testing.T) {
	py := debugPython(t, testenv.Python(t))
	dir := testenv.Project(t, "mysite")
	views := filepath.Join(dir, "polls", "views.py")
	c := fakeeditor.NewBinary(t, testenv.Binary(t))
	c.Initialize(settings(t, testenv.FreePort(t), "python", py), dir)
	from := c.Mark()
	first, d := startDebugged(t, c, nil)
	awaitSetUp(c, from)
	preloaders := procfs.Tree(c.PID())
	from, mark := c.Mark(), d.Mark()
	testenv.Rewrite(t, views, "hello from the view", "hello before the kill")
	c.Save(views)
	ready := followed(t, c, d, from, mark, first)
	warm := awaitServing(c, from, ready.PID)
	if warm.Start != protocol.StartWarm {
		t.Fatalf("the reload started %s (%s), want warm", warm.Start, warm.ColdReason)
	}
	adapters := debugpyAdapters(dir)
	if len(adapters) == 0 {
		t.Fatal("no debugpy adapter runs for the forked process")
	}
	c.Kill()
	gone := func() bool {
		for _, pid := range append(append([]int{ready.PID}, adapters...), preloaders...) {
			if !testenv.ProcessGone(pid) {
				return false
			}
		}
		return len(debugpyAdapters(dir)) == 0
	}
	if !eventually(2*time.Second, gone) {
		t.Fatalf("2 s after kill -9 of the backend, left: server %d gone %v; adapters %v, now %v; preloaders and children %v",
			ready.PID, testenv.ProcessGone(ready.PID), adapters, debugpyAdapters(dir), preloaders)
	}
	select {
	case <-d.Done():
	case <-time.After(fakedap.Timeout):
		t.Fatal("the debug session outlived the backend")
	}
}
