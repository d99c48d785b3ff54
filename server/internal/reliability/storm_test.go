//go:build linux

package reliability

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=storm", "-c", "user.email=storm@example.invalid", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// restartsSince counts the processes that replaced first since from: the
// distinct pids of running statuses.
func restartsSince(ed *fakeeditor.Env, from int, folder string, first int) int {
	seen := map[int]bool{first: true}
	for _, st := range ed.Statuses(from, folder) {
		if st.PID != 0 {
			seen[st.PID] = true
		}
	}
	return len(seen) - 1
}

// settle waits until folder's state has not changed for quiet and is
// running.
func settle(t *testing.T, ed *fakeeditor.Env, folder string, quiet, timeout time.Duration) protocol.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ed.AwaitQuiet(folder, quiet, time.Until(deadline))
		if st := ed.Status(folder); st.State == protocol.StateRunning {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not settle running within %s", timeout)
		}
	}
}

// TestSaveAndCheckoutStorm: 500 didSave notifications in 2 s while a git
// checkout rewrites 2,000 files and the served module: at most 2 restarts,
// and the content of the checked-out branch is what is served.
func TestSaveAndCheckoutStorm(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for the checkout storm")
	}
	dir := tinyProject(t, t.TempDir(), "stormy", "A")
	var files []string
	for i := range 1000 {
		files = append(files, filepath.Join(dir, "gen", fmt.Sprintf("m%04d.py", i)), filepath.Join(dir, "static", fmt.Sprintf("f%04d.txt", i)))
	}
	for _, f := range files {
		writeFile(t, f, "# branch main\n")
	}
	writeFile(t, filepath.Join(dir, ".gitignore"), "__pycache__/\n")
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "main")
	git(t, dir, "checkout", "-q", "-b", "other")
	for _, f := range files {
		writeFile(t, f, "# branch other, rewritten\n")
	}
	setVersion(t, dir, "B")
	git(t, dir, "commit", "-q", "-am", "other")
	git(t, dir, "checkout", "-q", "main")

	ed := newEditor(t)
	ed.Initialize(settings(t, testenv.FreePort(t)), dir)
	running := ed.StartRunning(dir)
	waitBody(t, running.URL, "tiny A", 10*time.Second)

	from := ed.Mark()
	saveTargets := append([]string{filepath.Join(dir, "tinyapp.py")}, files[:99]...)
	var wg sync.WaitGroup
	var checkoutTook time.Duration
	began := time.Now()
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(4 * time.Millisecond) // 500 saves in 2 s
		defer tick.Stop()
		for i := range 500 {
			<-tick.C
			ed.Save(saveTargets[i%len(saveTargets)])
		}
	}()
	go func() {
		defer wg.Done()
		time.Sleep(500 * time.Millisecond)
		t0 := time.Now()
		git(t, dir, "checkout", "-q", "other")
		checkoutTook = time.Since(t0)
	}()
	wg.Wait()
	stormTook := time.Since(began)
	final := settle(t, ed, dir, 1500*time.Millisecond, 60*time.Second)
	waitBody(t, final.URL, "tiny B", 10*time.Second)
	restarts := restartsSince(ed, from, dir, running.PID)
	t.Logf("storm: 500 saves in %s, checkout of 2,001 files in %s; %d restart(s), final reloads=%d, serving %q",
		stormTook.Round(time.Millisecond), checkoutTook.Round(time.Millisecond), restarts, final.Reloads, "tiny B")
	if restarts < 1 || restarts > 2 {
		t.Errorf("%d restarts for the storm, want 1 or 2; states: %v", restarts, fakeeditor.Describe(ed.Statuses(from, dir)))
	}
	ed.Stop(dir)
}

// TestSaveDuringReload saves a new version while the server reloads for
// the previous one: exactly one more reload follows, and the newest content
// is served. Repeated, to catch races.
func TestSaveDuringReload(t *testing.T) {
	dir, _, ed := openTiny(t, newEditor, "racy", "v0")
	running := ed.StartRunning(dir)
	reloads := 0
	for i := range 5 {
		first, second := fmt.Sprintf("r%d-first", i), fmt.Sprintf("r%d-second", i)
		from := ed.Mark()
		ed.Save(setVersion(t, dir, first))
		reloading := ed.AwaitStatusWithin(30*time.Second, from, dir, "reloading with a new process", func(st protocol.Status) bool {
			return st.State == protocol.StateReloading && st.PID != 0 && st.PID != running.PID
		})
		// The new process is starting: save again now.
		ed.Save(setVersion(t, dir, second))
		final := ed.AwaitStatusWithin(30*time.Second, from, dir, "running after both saves", func(st protocol.Status) bool {
			return st.State == protocol.StateRunning && st.Reloads >= reloads+2
		})
		waitBody(t, final.URL, "tiny "+second, 10*time.Second)
		settled := settle(t, ed, dir, 500*time.Millisecond, 30*time.Second)
		if got := settled.Reloads - reloads; got != 2 {
			t.Errorf("round %d: %d reloads, want 2 (the save during the reload makes exactly one more); states: %v", i, got, fakeeditor.Describe(ed.Statuses(from, dir)))
		}
		if body, _ := testenv.Get(final.URL); body != "tiny "+second {
			t.Fatalf("round %d: serving %q, want the latest save %q: a change was lost", i, body, "tiny "+second)
		}
		reloads, running = settled.Reloads, settled
		_ = reloading
	}
	ed.Stop(dir)
}
