//go:build linux

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// floodManage prints what prelude says, then serves the tiny project.
func floodManage(prelude string) string {
	return "import os, sys\n" + prelude + "\n" + tinyManage
}

// TestHugeOutput runs manage.py files that print 10 MB of lines, lines of
// 1 MB, and a 100 MB line with no newline at all, before serving. The
// backend (the real binary) forwards the lines, cuts each at 64 KiB with
// "…", reaches running, and its peak memory stays bounded.
func TestHugeOutput(t *testing.T) {
	const maxPeakMiB = 96
	for _, tc := range []struct {
		name, prelude string
		wantLines     int // lines at least, on both streams together
		wantCut       int // lines cut at MaxLine
	}{
		{"10 MB of lines on each stream",
			"line = 'x' * 99 + '\\n'\nfor _ in range(1000):\n    sys.stdout.write(line * 100)\n    sys.stderr.write(line * 100)\nsys.stdout.flush(); sys.stderr.flush()",
			200000, 0},
		{"1 MB lines",
			"sys.stdout.write('o' * (1 << 20) + '\\n')\nsys.stderr.write('e' * (1 << 20) + '\\n')\nsys.stdout.write('ü' * (1 << 19) + '\\n')\nsys.stdout.flush(); sys.stderr.flush()",
			3, 3},
		{"100 MB without a newline",
			"chunk = 'z' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\nsys.stdout.write('\\n'); sys.stdout.flush()",
			1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeProject(t, floodManage(tc.prelude))
			writeFile(t, filepath.Join(dir, "tinyapp.py"), fmt.Sprintf(tinyApp, "flooded"))
			ed := newBinaryEditor(t)
			ed.Initialize(settings(t, testenv.FreePort(t)), dir)
			from := ed.Mark()
			began := time.Now()
			ed.Start(dir)
			running := ed.AwaitState(from, dir, protocol.StateRunning)
			waitBody(t, running.URL, "tiny flooded", 10*time.Second)
			took := time.Since(began)
			// Every line has arrived once running is seen? Not necessarily: wait
			// for the count.
			ed.AwaitWithin(30*time.Second, from, fakeeditor.Count(protocol.MethodLog, tc.wantLines))
			lines := ed.LogLines(from)
			cut, longest, total := 0, 0, 0
			for _, l := range lines {
				total += len(l.Text)
				longest = max(longest, len(l.Text))
				if strings.HasSuffix(l.Text, supervisor.Truncated) && len(l.Text) > supervisor.MaxLine-8 {
					cut++
				}
				if len(l.Text) > supervisor.MaxLine+len(supervisor.Truncated) {
					t.Fatalf("a log line of %d bytes passed the %d byte cap", len(l.Text), supervisor.MaxLine)
				}
				if !utf8.ValidString(l.Text) {
					t.Fatalf("a log line is not valid UTF-8: %q", l.Text[:min(len(l.Text), 80)])
				}
			}
			if len(lines) < tc.wantLines || cut < tc.wantCut {
				t.Errorf("got %d lines (%d cut), want at least %d (%d cut)", len(lines), cut, tc.wantLines, tc.wantCut)
			}
			peak := peakRSSKiB(ed.PID())
			t.Logf("%s: running after %s; %d log lines, %d cut at 64 KiB, longest %d bytes, %.1f MB forwarded; backend peak RSS %.1f MiB",
				tc.name, took.Round(time.Millisecond), len(lines), cut, longest, float64(total)/1e6, float64(peak)/1024)
			if peak <= 0 || peak > maxPeakMiB*1024 {
				t.Errorf("backend peak RSS %d KiB, want under %d MiB", peak, maxPeakMiB)
			}
			ed.Stop(dir)
		})
	}
}

// TestPreflightBoundedMemory: a "python" that floods its output instead of
// answering the interpreter check must not grow the backend's memory.
func TestPreflightBoundedMemory(t *testing.T) {
	flood := filepath.Join(t.TempDir(), "flooding-python")
	// 128 MiB of output, then exit: what /usr/bin/yes would do, bounded.
	if err := os.WriteFile(flood, []byte("#!/bin/sh\nhead -c 134217728 /dev/zero\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, _, ed := openTiny(t, newBinaryEditor, "ws", "v1", "python", flood)
	st := ed.Start(dir)
	if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != protocol.CodePythonNotFound {
		t.Errorf("start = %s %+v, want failed python-not-found", st.State, st.Error)
	}
	peak := peakRSSKiB(ed.PID())
	t.Logf("backend peak RSS %.1f MiB after a 128 MiB flood from the interpreter check", float64(peak)/1024)
	if peak > 64*1024 {
		t.Errorf("backend peak RSS %d KiB after the flood, want under 64 MiB", peak)
	}
}

// TestPreflightHangDoesNotHangTheEditor: a "python" that never answers
// (its child holds the output pipe) must not freeze the session: other
// requests are answered at once, and stop ends it.
func TestPreflightHangDoesNotHangTheEditor(t *testing.T) {
	hang := filepath.Join(t.TempDir(), "hanging-python")
	// sh forks sleep, which keeps stdout open after sh is killed.
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nsleep 299.5\necho done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := tinyProject(t, t.TempDir(), "ws", "v1")
	other := tinyProject(t, t.TempDir(), "other", "v1")
	ed := newEditor(t)
	ed.Initialize(settings(t, testenv.FreePort(t), "python", hang), dir, other)
	started := make(chan protocol.Status, 1)
	go func() {
		var st protocol.Status
		_ = ed.Editor.CallTimeout(120*time.Second, protocol.MethodStart, protocol.StartParams{Folder: fileURIOf(dir)}, &st)
		started <- st
	}()
	time.Sleep(200 * time.Millisecond) // the start is in its interpreter check
	for _, f := range []string{other, dir} {
		began := time.Now()
		var st protocol.Status
		err := ed.Editor.CallTimeout(5*time.Second, protocol.MethodStatus, protocol.FolderParams{Folder: fileURIOf(f)}, &st)
		if err != nil {
			t.Fatalf("status of %s while an interpreter check hangs: %v after %s", filepath.Base(f), err, time.Since(began).Round(time.Millisecond))
		}
	}
	var st protocol.Status
	if err := ed.Editor.CallTimeout(5*time.Second, protocol.MethodStop, protocol.FolderParams{Folder: fileURIOf(dir)}, &st); err != nil || st.State != protocol.StateStopped {
		t.Fatalf("stop during a hanging interpreter check: %v %+v", err, st)
	}
	if !eventually(10*time.Second, func() bool { return len(pids(hang, 0)) == 0 && len(pids("299.5", 0)) == 0 }) {
		t.Errorf("the interpreter check left processes: %v %v", pids(hang, 0), pids("299.5", 0))
	}
}
