package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// The state machine, on fakes: no Python, no sockets, no waiting for real
// time. docs/design.md draws the states these tests walk through.

// A server that crashes while running is restarted after 0.5, 1, 2, 4 and
// 8 s; the sixth crash within a minute leaves it failed.
func TestCrashBackoff(t *testing.T) {
	r := newRig(t, nil, nil)
	proc := r.running(t)
	for n, delay := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		from := r.rec.mark()
		proc.exit(1)
		failed := r.rec.awaitState(t, from, protocol.StateFailed)
		want := fmt.Sprintf("Restarting in %s (attempt %d of 5 this minute)", delay, n+1)
		if failed.Error == nil || failed.Error.Code != protocol.CodeCrashed || !strings.Contains(failed.Error.Message, want) {
			t.Fatalf("crash %d: %+v, want crashed, %q", n+1, failed.Error, want)
		}
		r.clock.awaitTimer(t, delay)
		r.clock.Advance(delay - time.Millisecond)
		if got := r.launch.started(); got != n+1 {
			t.Fatalf("crash %d: restarted %s early", n+1, time.Millisecond)
		}
		r.clock.Advance(time.Millisecond)
		proc = r.launch.proc(t, n+2)
		reloading := r.rec.awaitState(t, from, protocol.StateReloading)
		if reloading.Trigger == nil || reloading.Trigger.Kind != protocol.TriggerCrash {
			t.Errorf("crash %d: restart trigger %+v, want crash", n+1, reloading.Trigger)
		}
		proc.becomeReady()
		r.rec.awaitState(t, from, protocol.StateRunning)
	}
	from := r.rec.mark()
	proc.exit(1)
	failed := r.rec.awaitState(t, from, protocol.StateFailed)
	if !strings.Contains(failed.Error.Message, "6 times within a minute), so it is not restarted again") {
		t.Fatalf("sixth crash: %q", failed.Error.Message)
	}
	r.clock.Advance(time.Hour)
	if st := r.e.Status(); st.State != protocol.StateFailed || r.launch.started() != 6 {
		t.Errorf("after the sixth crash: %s with %d processes, want failed with 6", st.State, r.launch.started())
	}
}

// A stop while the server starts ends the process, reports stopped, and a
// late readiness changes nothing.
func TestStopDuringStart(t *testing.T) {
	r := newRig(t, nil, nil)
	from := r.rec.mark()
	r.e.Start("")
	p := r.launch.proc(t, 1)
	st := <-r.e.Stop()
	if st.State != protocol.StateStopped || !p.wasStopped() {
		t.Fatalf("stop = %s, process stopped %v; want stopped", st.State, p.wasStopped())
	}
	p.becomeReady()
	if st := r.e.Status(); st.State != protocol.StateStopped {
		t.Errorf("after a late readiness: %s", st.State)
	}
	for _, st := range r.rec.since(from) {
		if st.State == protocol.StateRunning || st.State == protocol.StateFailed {
			t.Errorf("a stop during start went through %s: %s", st.State, states(r.rec.since(from)))
		}
	}
}

// A stop while a slow interpreter check runs (the checking-interpreter
// sub-state) stops at once, and the check's late answer starts nothing.
func TestStopWhileCheckingTheInterpreter(t *testing.T) {
	r := newRig(t, nil, nil)
	release := make(chan struct{})
	r.launch.check = func(ctx context.Context) *protocol.Error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	started := make(chan protocol.Status, 1)
	go func() { started <- r.e.Start("") }()
	r.clock.awaitTimer(t, preflightInline)
	r.clock.Advance(preflightInline)
	if st := <-started; st.State != protocol.StateStarting || st.PID != 0 {
		t.Fatalf("start during a slow check = %s pid %d, want starting without a process", st.State, st.PID)
	}
	if st := <-r.e.Stop(); st.State != protocol.StateStopped {
		t.Fatalf("stop = %s", st.State)
	}
	close(release)
	if st := r.e.Status(); st.State != protocol.StateStopped || r.launch.started() != 0 {
		t.Errorf("after the check answered: %s with %d processes, want stopped with none", st.State, r.launch.started())
	}
}

// A restart while a reload's process starts replaces that process: one
// more process, which serves.
func TestRestartDuringReload(t *testing.T) {
	r := newRig(t, nil, nil, "views.py")
	r.running(t)
	from := r.rec.mark()
	r.save(t, filepath.Join(r.folder, "views.py"), "v1\n")
	second := r.launch.proc(t, 2) // Django exited 3: the reload's process
	r.rec.awaitState(t, from, protocol.StateReloading)
	if st := r.e.Restart(); st.State != protocol.StateReloading {
		t.Fatalf("restart = %s", st.State)
	}
	third := r.launch.proc(t, 3)
	if !second.wasStopped() {
		t.Error("the reload's process was not stopped by the restart")
	}
	third.becomeReady()
	running := r.rec.awaitState(t, from, protocol.StateRunning)
	if running.PID != third.pid || running.Trigger == nil || running.Trigger.Kind != protocol.TriggerCommand {
		t.Errorf("running %+v, want pid %d for the command", running, third.pid)
	}
	second.becomeReady() // too late: it is gone
	if st := r.e.Status(); st.PID != third.pid || r.launch.started() != 3 {
		t.Errorf("status %+v with %d processes", st, r.launch.started())
	}
}

// A save while a reload runs makes exactly one more reload, and the last
// process loads the last content.
func TestSaveDuringReload(t *testing.T) {
	r := newRig(t, nil, nil, "views.py")
	r.running(t)
	views := filepath.Join(r.folder, "views.py")
	from := r.rec.mark()
	r.save(t, views, "first\n")
	second := r.launch.proc(t, 2)
	r.save(t, views, "second, longer\n")
	second.becomeReady()
	r.rec.awaitState(t, from, protocol.StateRunning)
	// The save came less than StormQuiet ago: it is held until the
	// stream is quiet.
	r.e.Status() // the loop has finished with readiness
	if lines := second.lines(); slices.Contains(lines, views) {
		t.Fatalf("the new process got %q before the stream was quiet", lines)
	}
	r.clock.awaitTimer(t, StormQuiet)
	r.clock.Advance(StormQuiet)
	third := r.launch.proc(t, 3)
	third.becomeReady()
	final := r.rec.awaitStatus(t, from, "running the third process", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID == third.pid
	})
	if final.Reloads != 2 {
		t.Errorf("%d reloads, want 2", final.Reloads)
	}
	if got := third.loaded[views]; got != "second, longer\n" {
		t.Errorf("the last process loaded %q", got)
	}
	r.clock.Advance(time.Minute)
	if n := r.launch.started(); n != 3 {
		t.Errorf("%d processes, want 3", n)
	}
}

// reloadBroken runs a rig that tracks views.py and models.py and saves
// views.py broken: it returns the paths, the recorder's mark before the save
// and the reload's process (the second), started and not yet ready.
func reloadBroken(t *testing.T) (r *rig, views, models string, from int, second *fakeProc) {
	t.Helper()
	r = newRig(t, nil, nil, "views.py", "models.py")
	r.running(t)
	views, models = filepath.Join(r.folder, "views.py"), filepath.Join(r.folder, "models.py")
	from = r.rec.mark()
	r.save(t, views, "broken\n")
	return r, views, models, from, r.launch.proc(t, 2)
}

// Changes held while a reload failed are in what the retry loads: they
// cost no further restart.
func TestRetryLoadsWhatWasHeld(t *testing.T) {
	r, views, models, from, second := reloadBroken(t)
	r.save(t, models, "held while reloading\n")
	second.exit(1) // an import error before serving
	r.rec.awaitState(t, from, protocol.StateFailed)
	r.save(t, views, "fixed\n")
	// The saves came less than StormQuiet apart: the retry waits for quiet.
	r.clock.awaitTimer(t, StormQuiet)
	r.clock.Advance(StormQuiet)
	third := r.launch.proc(t, 3)
	third.becomeReady()
	r.rec.awaitStatus(t, from, "the retry running", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID == third.pid
	})
	r.clock.Advance(time.Minute)
	r.e.Status()
	if lines := third.lines(); slices.Contains(lines, models) || r.launch.started() != 3 {
		t.Errorf("the retry got %q and %d processes ran, want no held path and 3 processes", lines, r.launch.started())
	}
	if third.loaded[models] != "held while reloading\n" {
		t.Errorf("the retry loaded models.py as %q", third.loaded[models])
	}
}

// A write that lands just after a reload's process read the files, while
// changes are held, still reaches that process: it reloads onto the new
// content instead of serving the older code.
func TestWriteRightAfterTheLoadIsNotLost(t *testing.T) {
	r, views, models, from, second := reloadBroken(t)
	r.save(t, views, "fixed\n") // held: the reload runs
	second.exit(1)
	r.rec.awaitState(t, from, protocol.StateFailed)
	r.launch.mu.Lock()
	r.launch.afterLoad = func(p *fakeProc) {
		if p.pid != 1002 {
			return
		}
		if err := os.WriteFile(views, []byte("fixed, and saved again\n"), 0o644); err != nil {
			t.Error(err)
		}
		r.e.Changed([]string{views}, protocol.TriggerWatch, r.clock.Now())
	}
	r.launch.mu.Unlock()
	r.clock.awaitTimer(t, StormQuiet)
	r.clock.Advance(StormQuiet) // the retry loads the held change
	third := r.launch.proc(t, 3)
	if third.loaded[views] != "fixed\n" {
		t.Fatalf("the retry loaded %q", third.loaded[views])
	}
	third.becomeReady()
	r.e.Status()
	r.settle(t)
	r.clock.awaitTimer(t, StormQuiet)
	r.clock.Advance(StormQuiet) // the write after the load is sent, and reloads
	r.e.Status()
	r.settle(t)
	if n := r.launch.started(); n != 4 {
		t.Fatalf("%d processes, want 4: the write after the retry's load was dropped; the retry got %q", n, third.lines())
	}
	if got := r.launch.proc(t, 4).loaded[views]; got != "fixed, and saved again\n" {
		t.Errorf("the last process loaded %q", got)
	}
	if got := r.launch.proc(t, 4).loaded[models]; got != "v0\n" {
		t.Errorf("models.py loaded as %q", got)
	}
}

// A single save goes to the server at once: no added delay.
func TestSingleSaveIsSentAtOnce(t *testing.T) {
	r := newRig(t, nil, nil)
	p := r.running(t)
	tmpl := filepath.Join(r.folder, "page.html")
	r.save(t, tmpl, "<p>hi</p>")
	r.e.Status() // the loop has handled the save
	if lines := p.lines(); len(lines) != 2 || lines[1] != tmpl {
		t.Errorf("the server got %q, want the saved path at once", lines)
	}
	// The same save seen again (by the watcher) is not sent twice.
	r.e.Changed([]string{tmpl, filepath.Join(filepath.Dir(r.folder), "outside.py")}, protocol.TriggerWatch, r.clock.Now())
	r.e.Status()
	if lines := p.lines(); len(lines) != 2 {
		t.Errorf("a duplicate or outside change was sent: %q", lines)
	}
}

// Storm: new content every 4 ms for 1.5 s ends in at most two restarts,
// and the last process loads the last content.
func TestStormEndsInTwoRestarts(t *testing.T) {
	stormTest(t, 0)
}

// A reload that fails during the storm (Django read a file mid-write) is
// retried once the storm is over, not at every write.
func TestStormWithAFailedReload(t *testing.T) {
	stormTest(t, 100*time.Millisecond)
}

// stormTest runs the storm; with failAfter, the first reload's process
// fails that long after it starts.
func stormTest(t *testing.T, failAfter time.Duration) {
	r := newRig(t, nil, nil, "storm.py")
	r.running(t)
	storm := filepath.Join(r.folder, "storm.py")
	const (
		step    = 4 * time.Millisecond
		length  = 1500 * time.Millisecond
		startup = 300 * time.Millisecond // how long a fake process takes to serve
	)
	startedAt := map[*fakeProc]time.Time{}
	last := ""
	tick := func() {
		n := r.launch.started()
		p := r.launch.proc(t, n)
		if _, ok := startedAt[p]; !ok {
			startedAt[p] = r.clock.Now()
		}
		age := r.clock.Now().Sub(startedAt[p])
		switch {
		case n == 2 && failAfter > 0 && age >= failAfter:
			p.exit(1)
		case age >= startup:
			p.becomeReady() // serve once a process has had its start-up time
		}
		r.clock.Advance(step)
		r.e.Status() // the loop has handled the timers the tick fired
		r.settle(t)  // and what the processes did
	}
	for i := 0; time.Duration(i)*step < length; i++ {
		// Each write is longer than the last, so no two share a size
		// whatever the file system's timestamp granularity.
		last = fmt.Sprintf("# write %d\n%s", i, strings.Repeat("x", i))
		r.save(t, storm, last)
		tick()
	}
	for range 1000 { // 4 s of quiet
		tick()
	}
	restarts := r.launch.started() - 1
	final := r.launch.proc(t, r.launch.started())
	t.Logf("%d writes, %d restarts", int(length/step), restarts)
	if restarts < 1 || restarts > 2 {
		t.Errorf("%d restarts for the storm, want 1 or 2", restarts)
	}
	if final.loaded[storm] != last {
		t.Errorf("the last process loaded %.20q…, want the last write %.20q…", final.loaded[storm], last)
	}
	if st := r.e.Status(); st.State != protocol.StateRunning || st.PID != final.pid {
		t.Errorf("after the storm: %s pid %d, want running pid %d", st.State, st.PID, final.pid)
	}
}

// A server that never accepts connections is stopped after the startup
// timeout and reported failed, pointing to that setting.
func TestStartupTimeout(t *testing.T) {
	r := newRig(t, nil, map[string]any{"startupTimeout": 5})
	from := r.rec.mark()
	r.e.Start("")
	p := r.launch.proc(t, 1)
	r.clock.awaitTimer(t, 5*time.Second)
	r.clock.Advance(5 * time.Second)
	failed := r.rec.awaitState(t, from, protocol.StateFailed)
	if e := failed.Error; e == nil || e.Code != protocol.CodeStartupTimeout || e.Setting != "startupTimeout" || !strings.Contains(e.Message, "within 5 s") {
		t.Fatalf("error = %+v, want startup-timeout about startupTimeout", failed.Error)
	}
	st := r.rec.awaitStatus(t, from, "failed without a process", func(st protocol.Status) bool {
		return st.State == protocol.StateFailed && st.PID == 0
	})
	if !p.wasStopped() {
		t.Error("the process was not stopped")
	}
	if st.State != protocol.StateFailed || st.Error.Code != protocol.CodeStartupTimeout || st.PID != 0 || r.launch.started() != 1 {
		t.Errorf("after the kill: %s %+v pid %d, %d processes", st.State, st.Error, st.PID, r.launch.started())
	}
}

// A server whose folder is deleted is stopped and failed, and changes no
// longer retry it.
func TestFolderGone(t *testing.T) {
	r := newRig(t, nil, nil)
	p := r.running(t)
	from := r.rec.mark()
	if err := os.RemoveAll(r.folder); err != nil {
		t.Fatal(err)
	}
	failed := r.rec.awaitState(t, from, protocol.StateFailed) // the real watcher sees it
	if failed.Error == nil || failed.Error.Code != protocol.CodeFolderGone {
		t.Fatalf("error = %+v, want folder-gone", failed.Error)
	}
	r.rec.awaitStatus(t, from, "failed without a process", func(st protocol.Status) bool {
		return st.State == protocol.StateFailed && st.PID == 0
	})
	if !p.wasStopped() {
		t.Error("the process was not stopped")
	}
	r.e.Changed([]string{filepath.Join(r.folder, "views.py")}, protocol.TriggerSave, r.clock.Now())
	if st := r.e.Status(); st.State != protocol.StateFailed || st.Error.Code != protocol.CodeFolderGone || r.launch.started() != 1 {
		t.Errorf("after a save: %s %+v with %d processes", st.State, st.Error, r.launch.started())
	}
}

// A taken port fails the start without spawning; the diagnostic goes on
// manage.py's first line and names the address setting.
func TestPortInUseFails(t *testing.T) {
	r := newRig(t, fakeProber{taken: map[int]bool{8000: true}, holder: &protocol.Holder{PID: 4242, Command: "python manage.py runserver"}}, nil)
	st := r.e.Start("")
	want := "Port 8000 is in use by PID 4242 (python manage.py runserver). Use port 8001, or stop that process."
	if st.State != protocol.StateFailed || st.Error == nil || st.Error.Message != want || st.Error.Setting != "address" || r.launch.started() != 0 {
		t.Fatalf("start = %s %+v, want failed: %q", st.State, st.Error, want)
	}
	uri := fileuri.FromPath(filepath.Join(r.folder, "manage.py"))
	r.rec.await(t, "the bind diagnostic", func(r *recorder) bool { return len(r.diags[uri]) == 1 })
	d := r.rec.diags[uri][0]
	if d.Range.Start.Line != 0 || d.Code != "port-in-use" || d.Data == nil || d.Data.Setting != "address" {
		t.Errorf("diagnostic = %+v, want port-in-use on line 1 with data.setting address", d)
	}
}

// onPortConflict nextFree starts on the next free port and says so.
func TestPortInUseNextFree(t *testing.T) {
	r := newRig(t, fakeProber{taken: map[int]bool{8000: true}}, map[string]any{"onPortConflict": "nextFree"})
	st := r.e.Start("")
	if st.State != protocol.StateStarting || st.Address != "127.0.0.1:8001" {
		t.Fatalf("start = %s on %s, want starting on 127.0.0.1:8001", st.State, st.Address)
	}
	if got := r.rec.texts(); !strings.Contains(got, "Port 8000 is in use by another process. Starting on port 8001 instead.") {
		t.Errorf("messages: %s", got)
	}
}

// A fast reload that can't fork from a preloader says it started cold, and
// why, in its status and its line: here, preloading is off.
func TestReloadSaysColdWhenPreloadingIsOff(t *testing.T) {
	r := newRig(t, nil, map[string]any{"preload": "off"}, "views.py")
	r.running(t)
	from := r.rec.mark()
	r.save(t, filepath.Join(r.folder, "views.py"), "v1\n")
	r.launch.proc(t, 2).becomeReady()
	st := r.rec.awaitState(t, from, protocol.StateRunning)
	if st.Start != protocol.StartCold || st.ColdReason != "preloading is off" {
		t.Errorf("reload status: start %q, coldReason %q; want cold because preloading is off", st.Start, st.ColdReason)
	}
	r.rec.await(t, "the reload's line", func(r *recorder) bool {
		for _, m := range r.messages {
			if strings.Contains(m.Text, "reloaded in") {
				return strings.HasSuffix(m.Text, " (cold: preloading is off)")
			}
		}
		return false
	})
}
