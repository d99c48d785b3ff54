package main

import (
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/procfs"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// idleBound is the most of one core the backend may use while its server
// idles: generous on purpose, since a loaded machine stretches everything,
// and a backend that polls burns far more (75% of a core, once).
const idleBound = 0.05

// The backend is quiet from the first second: once the server is ready,
// nothing it runs polls (readiness, a port's holder, retries).
func TestTerminalIsIdleRightAfterStart(t *testing.T) {
	_, _, cmd, out := startTerminal(t)
	testenv.Eventually(t, 60*time.Second, "the server running", func() bool {
		return strings.Contains(out.String(), "running at")
	})
	const window = 5 * time.Second
	before, t0 := procfs.CPUTime(cmd.Process.Pid), time.Now()
	time.Sleep(window) // a measurement window, not a wait for a condition
	used, elapsed := procfs.CPUTime(cmd.Process.Pid)-before, time.Since(t0)
	if share := float64(used) / float64(elapsed); share > idleBound {
		t.Errorf("the backend used %.1f%% of a core over the %s after its server ran (at most %.0f%%):\n%s",
			100*share, elapsed.Round(time.Millisecond), 100*idleBound, out.String())
	}
}
