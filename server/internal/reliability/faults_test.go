//go:build linux

package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// TestCrashRestartsWithBackoff kills Django with -9 while it runs, six
// times. Each crash is reported failed/crashed and restarted after 0.5, 1,
// 2, 4 and 8 s; the sixth within the minute is not restarted. A save then
// brings it back.
func TestCrashRestartsWithBackoff(t *testing.T) {
	dir, _, ed := openTiny(t, newEditor, "crashy", "v1")
	running := ed.StartRunning(dir)

	wantDelays := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	var measured []string
	for i := 0; i <= len(wantDelays); i++ {
		from := ed.Mark()
		killPID(t, running.PID)
		failed := ed.AwaitStatusWithin(10*time.Second, from, dir, "failed after kill -9", func(st protocol.Status) bool { return st.State == protocol.StateFailed })
		failedAt := time.Now()
		if e := failed.Error; e == nil || e.Code != protocol.CodeCrashed || e.ExitCode == nil || !strings.Contains(e.Message, "killed by a signal") {
			t.Fatalf("crash %d: failed with %+v, want crashed with an exit code, killed by a signal", i+1, failed.Error)
		}
		if !gone(running.PID) {
			t.Fatalf("crash %d: pid %d still alive", i+1, running.PID)
		}
		if i == len(wantDelays) {
			if !strings.Contains(failed.Error.Message, "not restarted again") {
				t.Errorf("crash %d: message %q does not say it stops restarting", i+1, failed.Error.Message)
			}
			break
		}
		if !strings.Contains(failed.Error.Message, "Restarting in") {
			t.Errorf("crash %d: message %q does not announce the restart", i+1, failed.Error.Message)
		}
		reloading := ed.AwaitStatusWithin(wantDelays[i]+10*time.Second, from, dir, "the automatic restart", func(st protocol.Status) bool {
			return st.State == protocol.StateReloading
		})
		delay := time.Since(failedAt)
		if reloading.Trigger == nil || reloading.Trigger.Kind != protocol.TriggerCrash {
			t.Errorf("restart %d trigger = %+v, want crash", i+1, reloading.Trigger)
		}
		if delay < wantDelays[i]-50*time.Millisecond || delay > wantDelays[i]+time.Second {
			t.Errorf("restart %d came after %s, want %s", i+1, delay, wantDelays[i])
		}
		measured = append(measured, delay.Round(10*time.Millisecond).String())
		running = ed.AwaitStatusWithin(30*time.Second, from, dir, "running after the restart", func(st protocol.Status) bool {
			return st.State == protocol.StateRunning
		})
		waitBody(t, running.URL, "tiny v1", 10*time.Second)
	}
	t.Logf("restart delays after kill -9: %v; the 6th crash in a minute stayed failed", measured)

	// It stays failed: no restart comes (the next would be due after 16 s).
	from := ed.Mark()
	if ed.Editor.Await(2*time.Second, from, fakeeditor.AnyStatus(dir)) == nil {
		t.Fatalf("after the 6th crash the state changed: %v", fakeeditor.Describe(ed.Statuses(from, dir)))
	}
	if st := ed.Status(dir); st.State != protocol.StateFailed || st.PID != 0 {
		t.Fatalf("after the 6th crash: %s pid %d, want failed with no process", st.State, st.PID)
	}
	// The next change brings it back.
	from = ed.Mark()
	ed.Save(setVersion(t, dir, "v2"))
	running = ed.AwaitState(from, dir, protocol.StateRunning)
	waitBody(t, running.URL, "tiny v2", 10*time.Second)
	// So does a start, after another crash limit is reached; here, simply a
	// crash and a start before the backoff ends.
	from = ed.Mark()
	killPID(t, running.PID)
	ed.AwaitStatusWithin(10*time.Second, from, dir, "failed", func(st protocol.Status) bool { return st.State == protocol.StateFailed })
	from = ed.Mark()
	ed.Start(dir)
	ed.AwaitState(from, dir, protocol.StateRunning)
	ed.Stop(dir)
}

// TestCrashNamesTheException: a server that dies of an uncaught exception
// while it runs is reported with that exception, and restarted.
func TestCrashNamesTheException(t *testing.T) {
	// manage.py serves, and dies of an exception on a request for /die.
	dir := fakeProject(t, `import socket, sys
host, port = sys.argv[2].rsplit(":", 1)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port)))
s.listen()
while True:
    c, _ = s.accept()
    if b"/die" in c.recv(1024):
        raise RuntimeError("the cache went away")
    c.close()
`)
	ed := newEditor(t)
	ed.Initialize(settings(t, testenv.FreePort(t)), dir)
	running := ed.StartRunning(dir)
	from := ed.Mark()
	testenv.Get(running.URL + "die")
	failed := ed.AwaitStatusWithin(10*time.Second, from, dir, "failed", func(st protocol.Status) bool { return st.State == protocol.StateFailed })
	e := failed.Error
	if e == nil || e.Code != protocol.CodeCrashed || e.Exception != "RuntimeError" {
		t.Fatalf("failed with %+v, want crashed with RuntimeError", e)
	}
	for _, want := range []string{"exited with status 1 while running: RuntimeError: the cache went away", "Restarting in"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q does not say %q", e.Message, want)
		}
	}
	ed.AwaitStatusWithin(10*time.Second, from, dir, "running after the restart", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID != running.PID
	})
	ed.Stop(dir)
}

// TestBackendKilledLeavesNoDjango kills the backend binary with -9 while
// Django runs, on each Django release and in each reload mode: within 2 s
// no process of Django's tree remains and the port is free.
func TestBackendKilledLeavesNoDjango(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, django testenv.Django) {
		for _, mode := range []string{"fast", "django", "off"} {
			t.Run(mode, func(t *testing.T) {
				dir, port, ed := openTiny(t, newBinaryEditor, "victim", "v1", "python", django.Python, "env", django.Env, "reload", mode)
				running := ed.StartRunning(dir)
				waitBody(t, running.URL, "tiny v1", 10*time.Second)
				tree := descendants(running.PID)
				if len(pids(dir, 0)) == 0 {
					t.Fatal("no Django process found")
				}
				killed := time.Now()
				killPID(t, ed.PID())
				if _, ok := ed.Exited(5 * time.Second); !ok {
					t.Fatal("the backend survived kill -9")
				}
				if !eventually(2*time.Second, func() bool {
					return len(pids(dir, 0)) == 0 && len(pids("", running.PID)) == 0 && allGone(tree)
				}) {
					t.Fatalf("2 s after the backend was killed, Django processes remain: %s (group %v, tree %v)", described(pids(dir, 0)), pids("", running.PID), tree)
				}
				took := time.Since(killed)
				if !eventually(time.Second, func() bool { return testenv.PortFree(port) }) {
					t.Errorf("port %d still taken after the backend died", port)
				}
				t.Logf("Django %s, %s mode: %d process(es) gone %s after kill -9 of the backend", django.Version, mode, len(tree), took.Round(time.Millisecond))
			})
		}
	})
}

// TestStdinClosedExitsCleanly closes the backend's stdin while Django runs,
// also in the middle of a frame: the backend stops Django and exits with 0.
func TestStdinClosedExitsCleanly(t *testing.T) {
	for _, tc := range []struct{ name, partial string }{
		{"between frames", ""},
		{"mid-header", "Content-Len"},
		{"mid-body", "Content-Length: 100\r\n\r\n{\"jsonrpc\":\"2.0\","},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, port, ed := openTiny(t, newBinaryEditor, "ws", "v1")
			running := ed.StartRunning(dir)
			tree := descendants(running.PID)
			if tc.partial != "" {
				if err := ed.Raw([]byte(tc.partial)); err != nil {
					t.Fatal(err)
				}
			}
			closed := time.Now()
			if err := ed.CloseInput(); err != nil {
				t.Fatal(err)
			}
			code, ok := ed.Exited(10 * time.Second)
			if !ok {
				t.Fatal("the backend did not exit within 10 s of stdin closing")
			}
			if code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			if !allGone(tree) || len(pids(dir, 0)) > 0 {
				t.Errorf("Django processes remain: %s (tree %v)", described(pids(dir, 0)), tree)
			}
			if !testenv.PortFree(port) {
				t.Errorf("port %d still taken", port)
			}
			t.Logf("exited with %d %s after stdin closed", code, time.Since(closed).Round(time.Millisecond))
		})
	}
}

// TestFolderGone deletes or renames the watched folder while Django runs:
// failed with folder-gone, the process is stopped, the session lives on.
func TestFolderGone(t *testing.T) {
	for _, how := range []string{"deleted", "renamed", "parent renamed"} {
		t.Run(how, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "parent")
			dir := tinyProject(t, parent, "doomed", "v1")
			for i := range 50 { // some content for the deletion to churn through
				writeFile(t, filepath.Join(dir, "pkg", "m"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+".py"), "x = 1\n")
			}
			port := testenv.FreePort(t)
			ed := newEditor(t)
			ed.Initialize(settings(t, port), dir)
			running := ed.StartRunning(dir)

			from := ed.Mark()
			var err error
			switch how {
			case "deleted":
				err = os.RemoveAll(dir)
			case "renamed":
				err = os.Rename(dir, dir+"-moved")
			case "parent renamed":
				err = os.Rename(parent, parent+"-moved")
			}
			if err != nil {
				t.Fatal(err)
			}
			failed := ed.AwaitStatusWithin(10*time.Second, from, dir, "failed after the folder went", func(st protocol.Status) bool {
				return st.State == protocol.StateFailed
			})
			if !eventually(10*time.Second, func() bool { return gone(running.PID) }) {
				t.Fatalf("Django %d still runs after its folder was %s", running.PID, how)
			}
			// Let whatever the watcher still had in flight land, then read the
			// settled status.
			ed.AwaitQuiet(dir, 500*time.Millisecond, 10*time.Second)
			st := ed.Status(dir)
			if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != protocol.CodeFolderGone {
				t.Fatalf("folder %s: status %s %+v (first failure %+v), want failed folder-gone", how, st.State, st.Error, failed.Error)
			}
			if !strings.Contains(st.Error.Message, "deleted or renamed") {
				t.Errorf("message %q", st.Error.Message)
			}
			if !testenv.PortFree(port) {
				t.Errorf("port %d still taken", port)
			}
			if len(pids(dir, 0)) > 0 {
				t.Errorf("processes remain: %s", described(pids(dir, 0)))
			}
			// A start now explains that there is nothing to run.
			if st := ed.Start(dir); st.State != protocol.StateFailed || st.Error == nil {
				t.Errorf("start in a vanished folder: %s %+v", st.State, st.Error)
			}
		})
	}
}

// TestStopDuringSlowStartup stops (and restarts) a server that has not yet
// accepted connections and ignores the interrupt, with the startup timeout
// due during the 3 s grace period: the stop must still complete, and the
// restart must still spawn.
func TestStopDuringSlowStartup(t *testing.T) {
	const stubborn = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(600)\n"
	t.Run("stop", func(t *testing.T) {
		dir := fakeProject(t, stubborn)
		ed := newEditor(t)
		ed.Initialize(settings(t, testenv.FreePort(t), "startupTimeout", 1), dir)
		st := ed.Start(dir)
		time.Sleep(500 * time.Millisecond) // the timeout falls inside the stop's grace period
		began := time.Now()
		var stopped protocol.Status
		if err := ed.Editor.CallTimeout(15*time.Second, protocol.MethodStop, protocol.FolderParams{Folder: fileURIOf(dir)}, &stopped); err != nil {
			t.Fatalf("stop of a starting server: %v after %s", err, time.Since(began))
		}
		if stopped.State != protocol.StateStopped || !gone(st.PID) {
			t.Errorf("stop replied %s, pid %d gone=%v", stopped.State, st.PID, gone(st.PID))
		}
		t.Logf("stop answered after %s", time.Since(began).Round(time.Millisecond))
	})
	t.Run("restart", func(t *testing.T) {
		dir := fakeProject(t, stubborn)
		ed := newEditor(t)
		ed.Initialize(settings(t, testenv.FreePort(t), "startupTimeout", 1), dir)
		st := ed.Start(dir)
		time.Sleep(500 * time.Millisecond)
		from := ed.Mark()
		var restarted protocol.Status
		ed.Call(protocol.MethodRestart, protocol.FolderParams{Folder: fileURIOf(dir)}, &restarted)
		// The old process dies after the grace period; a new one must spawn,
		// not a startup-timeout for the old one.
		next := ed.AwaitStatusWithin(15*time.Second, from, dir, "a new process or a failure", func(s protocol.Status) bool {
			return (s.PID != 0 && s.PID != st.PID) || s.State == protocol.StateFailed
		})
		if next.State == protocol.StateFailed {
			t.Fatalf("the restart of a starting server failed instead: %+v", next.Error)
		}
	})
}
