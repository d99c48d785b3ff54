package engine

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/debugger"
	"github.com/django-runserver/django-runserver/server/reloader"
)

// DebugAttachWait is how long a server process under the debugger waits
// for a debugger to attach and finish configuring before it serves anyway.
// Waiting is what makes the first request after a start or a reload stop
// at its breakpoint; an editor attaches well within it. The process
// listens meanwhile: requests wait in its queue, never refused.
const DebugAttachWait = 15 * time.Second

// DebugWaitForever, as Debug's wait, holds the first process until a
// debugger attaches, as debugpy --wait-for-client does.
const DebugWaitForever = reloader.DebugWaitForever

// debugState is the debugger's part of the engine that outlives a process,
// owned by the loop. Each process's relay and whether it is attached or
// paused are its run's.
type debugState struct {
	on bool // this server runs under the debugger, until it stops
	// relay is where a debugger attaches, from the first process's debugpy
	// on, until debugging ends: one address for the server's life.
	relay Relay
	// wait is how long the next process waits for a debugger: 0 (it
	// serves at once), DebugAttachWait or DebugWaitForever.
	wait time.Duration
}

// debugArgs wraps a server's argv and environment in the debug bootstrap,
// and says how long the process waits for a debugger.
func (e *Engine) debugArgs(args []string, env []string) ([]string, []string, time.Duration) {
	wait := e.debugWait()
	for k, v := range reloader.DebugEnv(wait) {
		env = append(env, k+"="+v)
	}
	return reloader.DebugArgs(reloader.DebugBootstrap(e.shim), args), env, wait
}

// debugWait is how long the next process waits for a debugger. Once the
// relay runs, a reload waits only while a debugger's session is on it: that
// session follows the new process, which serves once the relay has
// replayed its breakpoints. With none (the developer detached), nobody
// attaches because of a reload, and the process serves at once.
func (e *Engine) debugWait() time.Duration {
	if e.dbg.relay == nil || e.dbg.wait == DebugWaitForever {
		return e.dbg.wait
	}
	if e.dbg.relay.Sessions() > 0 {
		return DebugAttachWait
	}
	return 0
}

// debugOptions are the interpreter options of a server's processes, and
// of the preloaders they fork from.
func (e *Engine) debugOptions() []string {
	if !e.dbg.on {
		return nil
	}
	return reloader.DebugOptions
}

// debugModeError refuses the debugger in a reload mode other than fast:
// only there is each process the server itself, for debugpy to run in.
func (e *Engine) debugModeError() *protocol.Error {
	if !e.dbg.on || e.settings.Reload == protocol.ReloadFast {
		return nil
	}
	return &protocol.Error{Code: protocol.CodeInvalidSettings, Setting: "reload",
		Message: fmt.Sprintf("The debugger runs the server in the fast reload mode, and reload is %s. Set reload to fast, or start the server without the debugger.", e.settings.Reload)}
}

// debugLine reads the debug bootstrap's lines on the stderr of r's
// process, and reports whether line was one: said by the engine's own
// words, it is not shown.
func (e *Engine) debugLine(r *run, line string) bool {
	if host, port, ok := reloader.DebugListening(line); ok {
		e.post(func() { e.debugListening(r, net.JoinHostPort(host, strconv.Itoa(port))) })
		return true
	}
	if reloader.DebugNotAttached(line) {
		e.post(func() { e.debugNotAttached(r) })
		return true
	}
	return false
}

// debugListening points the server's relay at the debugpy adapter of r's
// process, and tells the editor where to attach. The relay starts with
// the first process; the terminal's one line about it says where a
// debugger attaches, once for the whole run: a session attached there
// follows each new process itself (the relay replays its configuration).
// debugReady still names each process, for editors that track them.
func (e *Engine) debugListening(r *run, target string) {
	if r != e.run || r.debugged || !e.dbg.on {
		return
	}
	if e.dbg.relay == nil {
		relay, err := e.relays.Listen()
		if err != nil {
			e.log(protocol.MessageError, e.name()+" "+capitalize(err.Error())+". The server runs, without a debugger.")
			return
		}
		e.dbg.relay = relay
		e.log(protocol.MessageInfo, fmt.Sprintf("%s debugger: attach once to %s (Debug Adapter Protocol, as to a debugpy adapter); the session stays attached across reloads, on this address for the whole run", e.name(), e.debugAddr()))
	}
	e.dbg.relay.Target(target, debugger.Events{
		Paused:   func(p bool) { e.post(func() { e.debugPaused(r, p) }) },
		Attached: func(a bool) { e.post(func() { e.debugAttached(r, a) }) },
	})
	r.debugged = true
	if e.dbg.wait == DebugWaitForever {
		// The process has loaded the project and listens; what is left is
		// the developer's attach, which takes as long as it takes.
		stopTimer(&r.startTimer)
	}
	host, port := e.dbg.relay.Addr()
	e.n.DebugReady(protocol.DebugReadyParams{Folder: e.uri, PID: r.proc.PID(), Host: host, Port: port})
	e.notify()
}

func (e *Engine) debugNotAttached(r *run) {
	if r != e.run {
		return
	}
	e.dbg.wait = 0 // nobody is debugging: reloads don't wait until someone attaches again
	e.n.ShowMessage(Message{Type: protocol.MessageWarning,
		Text: fmt.Sprintf("No debugger attached to the server (pid %d) within %s, so it serves without one. Attach to %s to debug it.", r.proc.PID(), DebugAttachWait, e.debugAddr())})
}

func (e *Engine) debugAttached(r *run, attached bool) {
	if r != e.run {
		return
	}
	r.attached = attached
	if attached {
		// A debugger is attached: each new process waits for the relay to
		// replay its breakpoints before it serves.
		e.dbg.wait = DebugAttachWait
	}
	e.notify()
}

// debugPaused records whether a thread is stopped. Changes that arrived
// while it was are applied once execution continues.
func (e *Engine) debugPaused(r *run, paused bool) {
	if r != e.run || r.paused == paused {
		return
	}
	r.paused = paused
	e.notify()
	if !paused && r.ready && e.quietTimer == nil && len(e.held) > 0 {
		e.log(protocol.MessageInfo, e.name()+" execution continued: applying the pending reload")
		e.sendHeld()
	}
}

// debugHolds reports whether changes must wait: a thread is paused in the
// debugger, and a reload would kill the process under the developer.
func (e *Engine) debugHolds(ts []trigger) bool {
	if e.run == nil || !e.run.paused {
		return false
	}
	first := len(e.held) == 0
	e.held = append(e.held, ts...)
	if first {
		e.log(protocol.MessageInfo, e.name()+" reload pending: a thread is paused in the debugger; it applies when execution continues, or on restart")
		e.notify()
	}
	return true
}

// debugExited ends the debugging of r's process, which is gone. The
// editor's session stays, waiting in the relay for the next process; it
// ends only when the relay closes (the server stops, or runs on without
// the debugger).
func (e *Engine) debugExited(r *run) {
	if !r.debugged {
		e.closeRelayUnlessDebugging()
		return
	}
	r.debugged, r.attached, r.paused = false, false, false
	// Said before the relay leaves the process (its threads exit in the
	// editor's session), so an editor that tracks processes tells this
	// end from a user who stopped debugging.
	e.n.DebugGone(protocol.DebugGoneParams{Folder: e.uri, PID: r.proc.PID()})
	e.dbg.relay.End()
	e.closeRelayUnlessDebugging()
}

// closeRelayUnlessDebugging closes the relay once the server no longer
// runs under the debugger.
func (e *Engine) closeRelayUnlessDebugging() {
	if relay := e.dbg.relay; relay != nil && !e.dbg.on {
		e.dbg.relay = nil
		e.wg.Go(relay.Close)
	}
}

// debugStatus is the debugger's part of the status.
func (e *Engine) debugStatus() *protocol.DebugStatus {
	if !e.dbg.on || e.state == protocol.StateStopped {
		return nil
	}
	st := &protocol.DebugStatus{}
	if r := e.run; r != nil {
		st.Attached, st.Paused, st.ReloadPending = r.attached, r.paused, r.paused && len(e.held) > 0
	}
	if e.dbg.relay != nil {
		st.Host, st.Port = e.dbg.relay.Addr()
	}
	return st
}

func (e *Engine) debugAddr() string {
	if e.dbg.relay == nil {
		return "the port in runserver/debugReady"
	}
	host, port := e.dbg.relay.Addr()
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// noDebugpy explains an interpreter without debugpy.
func (e *Engine) noDebugpy() *protocol.Error {
	python := e.pythonOK
	return &protocol.Error{Code: protocol.CodeDebugpyNotFound, Setting: "python",
		Message: fmt.Sprintf("%s cannot import debugpy, which the debugger needs. Install it (on Debian or Ubuntu: sudo apt install python3-debugpy; in a virtual environment: %s -m pip install debugpy), or choose an interpreter that has it.", python, python)}
}
