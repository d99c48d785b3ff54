//go:build linux

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// soakCycles is the number of start → reload → stop cycles, split over
// soakFolders folders run side by side (the machine has 2 cores).
// RELIABILITY_SOAK_CYCLES overrides it for a quick local run.
func soakCycles(t *testing.T) int {
	if s := os.Getenv("RELIABILITY_SOAK_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return 200
}

const soakFolders = 2

// TestSoakStartReloadStop runs 200 real start → reload → stop cycles and
// checks that nothing accumulates: goroutines (goleak), processes, open file
// descriptors, and that every cycle served its own content.
func TestSoakStartReloadStop(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak is not short")
	}
	ignore := goleak.IgnoreCurrent()
	parent := t.TempDir()
	var folders []string
	var ports []int
	for i := range soakFolders {
		folders = append(folders, tinyProject(t, parent, fmt.Sprintf("soak-%d", i), "v0"))
		ports = append(ports, testenv.FreePort(t))
	}
	cycles := soakCycles(t)

	func() {
		ed := newEditor(t)
		perFolder := map[string]any{}
		for i, f := range folders {
			perFolder[fileuri.FromPath(f)] = map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", ports[i])}
		}
		ed.InitializeSections(map[string]any{
			protocol.SettingsSection:       settings(t, ports[0]),
			protocol.FolderSettingsSection: perFolder,
		}, folders...)
		defer ed.Close()
		// One warm-up cycle per folder, so the baseline includes what is
		// created once (the shim file, the loggers).
		versions := make([]string, len(folders))
		for i, f := range folders {
			if err := soakCycle(ed, f, ports[i], "v0", "warm"); err != nil {
				t.Fatal(err)
			}
			versions[i] = "warm"
		}
		fdsBefore := openFDs()
		goroutinesBefore := runtime.NumGoroutine()
		start := time.Now()

		var wg sync.WaitGroup
		errs := make(chan error, soakFolders)
		for i, f := range folders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := i; n < cycles; n += soakFolders {
					next := fmt.Sprintf("c%d", n)
					if err := soakCycle(ed, f, ports[i], versions[i], next); err != nil {
						errs <- fmt.Errorf("cycle %d in %s: %w", n, f, err)
						return
					}
					versions[i] = next
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		elapsed := time.Since(start)

		// Nothing of the cycles runs any more. A stop ends the server before
		// it answers, and its preloaders as it answers: give them the no-orphans
		// bound of 2 s to be gone.
		for _, f := range folders {
			var left []int
			if !eventually(2*time.Second, func() bool { left = pids(f, 0); return len(left) == 0 }) {
				t.Errorf("processes left running for %s 2 s after the last stop: %v", f, left)
			}
		}
		fdsAfter, goroutinesAfter := 0, 0
		stable := eventually(5*time.Second, func() bool {
			fdsAfter, goroutinesAfter = openFDs(), runtime.NumGoroutine()
			return fdsAfter <= fdsBefore+2 && goroutinesAfter <= goroutinesBefore+2
		})
		t.Logf("soak: %d cycles (start, reload, stop) over %d folders in %s (%.0f ms per cycle); open fds %d before, %d after; goroutines %d before, %d after",
			cycles, soakFolders, elapsed.Round(time.Millisecond), float64(elapsed.Milliseconds())/float64(cycles), fdsBefore, fdsAfter, goroutinesBefore, goroutinesAfter)
		if !stable {
			t.Errorf("resources grew over %d cycles: fds %d -> %d, goroutines %d -> %d", cycles, fdsBefore, fdsAfter, goroutinesBefore, goroutinesAfter)
		}
	}()
	// The session has ended: none of its goroutines may remain.
	goleak.VerifyNone(t, ignore)
}

// soakCycle is one cycle: start, wait for running and the old content;
// edit and save, wait for the reload and the new content; stop, and check
// that the process is gone and the port free.
func soakCycle(ed *fakeeditor.Env, folder string, port int, prev, next string) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	from := ed.Mark()
	var st protocol.Status
	if err := ed.Editor.Call(protocol.MethodStart, protocol.StartParams{Folder: fileuri.FromPath(folder)}, &st); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	var running, reloaded protocol.Status
	if err := ed.Editor.Await(30*time.Second, from, fakeeditor.State(folder, protocol.StateRunning, &running)); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if body, err := testenv.Get(url); err != nil || body != "tiny "+prev {
		return fmt.Errorf("after start: %q %v", body, err)
	}
	from = ed.Mark()
	p := filepath.Join(folder, "tinyapp.py")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(tinyApp, next)), 0o644); err != nil {
		return err
	}
	if err := ed.Editor.Save(p); err != nil {
		return err
	}
	if err := ed.Editor.Await(30*time.Second, from, fakeeditor.Reach(folder, "running in a new process", func(s protocol.Status) bool {
		return s.State == protocol.StateRunning && s.PID != running.PID
	}, &reloaded)); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if body, err := testenv.Get(url); err != nil || body != "tiny "+next {
		return fmt.Errorf("after reload: %q %v", body, err)
	}
	if err := ed.Editor.Call(protocol.MethodStop, protocol.FolderParams{Folder: fileuri.FromPath(folder)}, &st); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if st.State != protocol.StateStopped {
		return fmt.Errorf("stop replied %s", st.State)
	}
	if !gone(running.PID) || !gone(reloaded.PID) {
		return fmt.Errorf("processes %d/%d alive after stop", running.PID, reloaded.PID)
	}
	if !testenv.PortFree(port) {
		return fmt.Errorf("port %d still taken after stop", port)
	}
	return nil
}
