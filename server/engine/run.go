package engine

import "github.com/django-runserver/django-runserver/protocol"

// run is one Django process, from its spawn until the loop has handled its
// exit: what the engine knows of that process alone. The loop owns it, and
// e.run is the live one (nil while no process runs). Every callback about a
// process (its exit, readiness, output lines, startup timer, the socket it
// sends, its debugger's events) carries its run, so a late one, about a
// process the engine has left, is recognised in one way: r != e.run.
//
// What outlives a process stays on the Engine: the settings, the state, the
// address and its kept socket, the preloaders, the watcher, the diagnostics,
// the crash history, the changes held through a storm, and the stamps of
// the files sent (a later process loaded them too).
type run struct {
	proc  Process
	out   *output // what proc printed that explains its end
	ready bool    // proc accepts connections

	pending        pending  // what to do when proc exits
	restartEvent   event    // for pendingRestart: evStart or evReload
	restartTrigger *trigger // for pendingRestart

	inflight map[string]trigger // paths sent to proc, by path

	startTimer Timer // the startup timeout, until proc is ready

	// runserver is the runserver proc said it runs (fast mode), or nil
	// until it says (runserver.go).
	runserver *protocol.Runserver

	// serving is proc's ready channel and the socket it sends (fast mode,
	// where the engine keeps the socket; browser.go), or nil.
	serving *servingProcess

	// proc's debugger (debug.go).
	underDebugger bool // proc runs in the debug bootstrap; set at the spawn
	debugged      bool // proc's debugpy listens, and the server's relay leads to it
	attached      bool // a debugger configured proc
	paused        bool // a thread of proc is stopped
}

// serving reports whether a live process accepts connections.
func (e *Engine) serving() bool { return e.run != nil && e.run.ready }
