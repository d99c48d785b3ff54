package engine

import (
	"context"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// The seams below are what an engine uses of the machine: processes,
// addresses and time. New uses the real ones (system.go); the engine's
// unit tests pass fakes, so the state machine is tested without Python and
// without waiting.

// Launcher starts server processes, and checks an interpreter before the
// first process runs on it.
type Launcher interface {
	// CheckPython reports whether python, run in dir with env, is a Python 3
	// that can import Django: nil if so, else the error to show. It gives up
	// when ctx ends.
	CheckPython(ctx context.Context, python, dir string, env []string) *protocol.Error
	// Start starts a server process.
	Start(spec supervisor.Spec) (Process, error)
}

// Process is one running server process tree.
type Process interface {
	// PID is the process id of the tree's root.
	PID() int
	// Done is closed once the process has exited and its output is read.
	Done() <-chan struct{}
	// ExitCode is the exit status, or -1 if a signal ended it. Valid after
	// Done.
	ExitCode() int
	// Send writes one line to the process's stdin.
	Send(line string) error
	// Stop interrupts the tree, kills it if it is still alive after grace,
	// and returns once it has exited.
	Stop(grace time.Duration)
	// AwaitReady blocks until the server accepts connections on addr and
	// reports true, or reports false once the process has exited or ctx has
	// ended. With owned, the listener must also belong to this process tree:
	// on a first start another program may take the port between our probe
	// and Django's bind.
	AwaitReady(ctx context.Context, addr portcheck.Address, owned bool) bool
}

// Clock is the engine's time: when a change happened, and the timers of
// the startup timeout, the crash backoff, the storm quiet period and the
// inline wait for the interpreter check.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a call that Clock.AfterFunc will make.
type Timer interface {
	// Stop prevents the call if it has not started, and reports whether it
	// did.
	Stop() bool
}

// Deps are an engine's seams. A nil field means the real one.
type Deps struct {
	Launcher Launcher
	Prober   portcheck.Prober
	Clock    Clock
}

// stopTimer stops *t, if set, and forgets it.
func stopTimer(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}
