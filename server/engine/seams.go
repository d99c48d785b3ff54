package engine

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/debugger"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/preload"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// The seams below are what an engine uses of the machine: processes,
// addresses and time, and what a fast reload uses beyond starting a
// process: preloaded interpreters to fork from, the sockets of the live
// browser, and the debugger's relay. New uses the real ones (system.go);
// the engine's unit tests pass fakes, so the state machine is tested
// without Python and without waiting.

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

// Preloaders start the interpreters a fast reload forks from (preload.go).
type Preloaders interface {
	Start(preload.Spec) (Preloader, error)
}

// Preloader is one preloaded interpreter (see preload.Preloader).
type Preloader interface {
	PID() int
	// Ready is closed once it can fork, or failed: then Err says why.
	Ready() <-chan struct{}
	Err() error
	// Advice is what the user can change so that it could fork, when Err
	// says it can't because of the project's code, or "".
	Advice() string
	// Imported is the number of modules it imported.
	Imported() int
	// Fork starts a server process from it; preload.ErrLoading while it
	// still imports.
	Fork(supervisor.Spec) (Process, error)
	// Retire: it takes no more forks, and exits once the server it forked
	// has.
	Retire()
	Kill()
	// Done is closed once it has exited.
	Done() <-chan struct{}
}

// Sockets are the live browser's (browser.go): a ready channel on which
// each process says it serves and may send its listening socket, and the
// socket the engine keeps across processes.
type Sockets interface {
	NewReady() (ReadyChannel, error)
	// Listen binds addr, for the error page.
	Listen(portcheck.Address) (KeptSocket, error)
	// Adopt keeps sock, a process's listening socket on addr.
	Adopt(addr portcheck.Address, sock *os.File) (KeptSocket, error)
}

// ReadyChannel is one process's ready channel (see listener.Ready).
type ReadyChannel interface {
	// Child is the process's end, an extra file of the spawn.
	Child() *os.File
	// Spawned closes the backend's copy of the process's end; Close closes
	// both, for a spawn that failed.
	Spawned()
	Close()
	// Wait returns once the process said it serves (true, with the socket
	// it sent, if any) or ended (false).
	Wait() (bool, *os.File)
}

// KeptSocket is the listening socket the engine keeps (see
// listener.Listener).
type KeptSocket interface {
	Address() portcheck.Address
	// Pause stops the engine's own serving: connections queue.
	Pause()
	// Inherit adds the socket to a spawn's extra files, and returns them
	// with the environment entry that names it.
	Inherit(extra []*os.File) ([]*os.File, string)
	// Serve answers on the socket with h (the error page) until Pause.
	Serve(h http.Handler) error
	Close() error
}

// Relays start the relay between the editor's debugger and the debugpy
// adapter of each process (debug.go).
type Relays interface {
	Listen() (Relay, error)
}

// Relay is a server's debugger relay, on one address for the server's
// life (see debugger.Relay).
type Relay interface {
	Addr() (host string, port int)
	// Sessions is how many debuggers are attached, each following every
	// new process.
	Sessions() int
	// Target relays to the adapter of a new process, reporting on ev.
	Target(addr string, ev debugger.Events)
	// End leaves the process that went: the sessions stay, for the next
	// Target.
	End()
	// Close ends every session: the server stops, or runs on without the
	// debugger.
	Close()
}

// Deps are an engine's seams. A nil Launcher, Prober, Clock or Relays
// means the real one. A nil Preloaders or Sockets means the engine does
// without: every process starts cold, and binds the address itself with no
// live browser, as in the other reload modes. New passes the real ones.
type Deps struct {
	Launcher   Launcher
	Prober     portcheck.Prober
	Clock      Clock
	Relays     Relays
	Preloaders Preloaders
	Sockets    Sockets
}

// stopTimer stops *t, if set, and forgets it.
func stopTimer(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}
