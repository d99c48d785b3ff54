package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
)

// The state machine in one table. transition is the only code that writes
// e.state: every other part names the event that happened, and the table
// says from which states that event may come. docs/design.md shows the
// table as renderMachine draws it; TestDesignShowsTheMachine keeps them
// equal.

// event is what moves the engine to another state. Each event leads to one
// state; the table lists the states it may come from.
type event string

const (
	// evStart: a start launches a server: it checks the interpreter, or
	// spawns the first process (again, after a restart under the debugger
	// switch or a slow check).
	evStart event = "start"
	// evReload: a change, a restart, Django's own reloader or a crash's
	// retry launches a new process for a server that ran, or failed.
	evReload event = "reload"
	// evReady: the live process accepts connections.
	evReady event = "ready"
	// evFail: the server failed, with a reason it shows.
	evFail event = "fail"
	// evStop: a stop interrupts the live process.
	evStop event = "stop"
	// evStopped: the stop is done: no process, the address free.
	evStopped event = "stopped"
)

// machine is the table of the allowed moves: event, the states it may come
// from, and where it leads.
var machine = []struct {
	on   event
	from []protocol.State
	to   protocol.State
}{
	{evStart, []protocol.State{protocol.StateStopped, protocol.StateStarting, protocol.StateReloading, protocol.StateRunning, protocol.StateFailed}, protocol.StateStarting},
	{evReload, []protocol.State{protocol.StateStarting, protocol.StateReloading, protocol.StateRunning, protocol.StateFailed}, protocol.StateReloading},
	// From failed: Django's own reloader recovers its failed child.
	{evReady, []protocol.State{protocol.StateStarting, protocol.StateReloading, protocol.StateFailed}, protocol.StateRunning},
	{evFail, []protocol.State{protocol.StateStopped, protocol.StateStarting, protocol.StateReloading, protocol.StateRunning, protocol.StateFailed}, protocol.StateFailed},
	// From failed: a process still runs (Django's own reloader, or one being
	// killed after a reported failure).
	{evStop, []protocol.State{protocol.StateStarting, protocol.StateReloading, protocol.StateRunning, protocol.StateFailed}, protocol.StateStopping},
	// From a state other than stopping: no process ran.
	{evStopped, []protocol.State{protocol.StateStopped, protocol.StateStarting, protocol.StateReloading, protocol.StateFailed, protocol.StateStopping}, protocol.StateStopped},
}

// next is the state that ev leads to from from, and an error if the table
// doesn't allow that move.
func next(from protocol.State, ev event) (protocol.State, error) {
	for _, m := range machine {
		if m.on != ev {
			continue
		}
		if !slices.Contains(m.from, from) {
			return m.to, fmt.Errorf("the engine moved from %s on %s to %s, a move its state table does not allow", from, ev, m.to)
		}
		return m.to, nil
	}
	return from, fmt.Errorf("the engine got the event %q, which its state table does not know", ev)
}

// transition moves the engine on ev: the only write of e.state. A move the
// table doesn't allow is a bug: the engine reports it (the unit tests fail
// on it) and still moves, since the code that named the event has already
// acted on it (launched, killed or failed a process); keeping the old state
// would make the status contradict the process.
func (e *Engine) transition(ev event) {
	to, err := next(e.state, ev)
	if err != nil {
		e.badMove(err)
	}
	e.state = to
}

// reportBadMove is the production badMove: a warning in the server's log,
// for a bug report.
func (e *Engine) reportBadMove(err error) {
	e.log(protocol.MessageWarning, e.name()+" internal error: "+err.Error()+". Please report it; stop and start the server if its status looks wrong.")
}

// renderMachine draws the table as docs/design.md shows it.
func renderMachine() string {
	var b strings.Builder
	for _, m := range machine {
		from := make([]string, len(m.from))
		for i, s := range m.from {
			from[i] = string(s)
		}
		fmt.Fprintf(&b, "%-8s %-50s ─▶ %s\n", m.on, strings.Join(from, " | "), m.to)
	}
	return b.String()
}
