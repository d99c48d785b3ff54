// Package engine runs one workspace folder's Django server: it owns the
// state machine of docs/design.md (stopped, starting, running, reloading,
// stopping, failed, and their sub-states), spawns runserver through the
// reloader shim, decides when it is ready, turns exits and output into
// statuses and diagnostics, and feeds changed files to the live process.
//
// Every field is owned by one goroutine, the loop: the public methods and
// the process, readiness, timer and watcher goroutines post closures to it.
// That keeps the state machine free of locks and its transitions in one
// order; transition (state.go) alone writes the state, and each process is
// a run (run.go) that its callbacks carry. Processes, addresses, time,
// preloaders, the live browser's sockets and the debugger's relay come
// through seams (seams.go), so the machine is tested with fakes.
package engine

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/parse"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/watch"
)

// Notifier is where an engine reports. The session sends it to the editor;
// the terminal prints it.
type Notifier interface {
	// Status reports a state change. A failed status carries its reason,
	// whose Setting the face points to in its own terms.
	Status(protocol.Status)
	// Log reports one line of Django's output.
	Log(protocol.LogParams)
	// Diagnostics replaces the diagnostics of one file (an empty list clears it).
	Diagnostics(uri string, diags []protocol.Diagnostic)
	// ShowMessage tells the user something worth a notification.
	ShowMessage(Message)
	// LogMessage is one of our own status lines.
	LogMessage(Message)
	// Ask shows msg with actions and returns the one chosen, or "" if none
	// was. It may block until the user answers or ctx ends.
	Ask(ctx context.Context, typ protocol.MessageType, msg string, actions ...string) string
	// DebugReady says where a debugger attaches to a new server process.
	DebugReady(protocol.DebugReadyParams)
	// DebugGone says a process DebugReady announced is gone.
	DebugGone(protocol.DebugGoneParams)
}

// Message is one of the engine's own messages. Its text is in neutral
// words: it names no editor setting and no command-line flag.
type Message struct {
	Type protocol.MessageType
	Text string
	// Setting is the settings key (a JSON name of protocol.Settings) the
	// message concerns, or "": each face points to it in its own terms, a
	// setting in an editor, a flag in a terminal.
	Setting string
}

// StopGrace is how long a server has to exit after an interrupt before it
// is killed.
const StopGrace = 3 * time.Second

// Crash restarts: at most crashLimit within crashWindow, the first after
// crashBackoff, each later one waiting twice as long.
const (
	crashLimit   = 5
	crashWindow  = time.Minute
	crashBackoff = 500 * time.Millisecond
)

// trigger is the cause of a (re)load, with when it happened.
type trigger struct {
	kind protocol.TriggerKind
	path string
	at   time.Time
}

// pending is what the loop does when the live process exits, beyond what
// the exit itself says.
type pending int

const (
	// pendingNone: nobody asked for the exit. It is Django reloading (exit
	// 3), a crash, or a failure to explain.
	pendingNone pending = iota
	// pendingStop: a stop asked for it; the stop finishes.
	pendingStop
	// pendingRestart: a restart asked for it; a new process is launched on
	// the run's restartEvent for its restartTrigger.
	pendingRestart
	// pendingDiscard: the engine killed it after a failure it has already
	// reported (a startup timeout, the folder gone); nothing more happens.
	pendingDiscard
)

func (p pending) String() string {
	return [...]string{"none", "stop", "restart", "discard"}[p]
}

// interpreterCheck is the checking-interpreter sub-state of starting and
// reloading: an interpreter check that outlived preflightInline runs off
// the loop, and no process runs yet.
type interpreterCheck struct {
	cancel context.CancelFunc
}

// Engine runs one folder's server.
type Engine struct {
	folder string // absolute path of the workspace folder
	uri    string // its URI, as the editor knows it
	n      Notifier

	launcher   Launcher
	prober     portcheck.Prober
	clock      Clock
	relays     Relays
	preloaders Preloaders // nil: every process starts cold
	sockets    Sockets    // nil: no live browser; each process binds the address

	ops  chan func()
	quit chan struct{}
	ctx  context.Context // ends with Close, for Ask and interpreter checks
	end  context.CancelFunc
	wg   conc.WaitGroup

	// Owned by the loop goroutine.
	settings     protocol.Settings
	settingsErr  error
	state        protocol.State    // written by transition alone (state.go)
	badMove      func(error)       // told of a move outside the state table
	addr         portcheck.Address // set by every spawn
	addrOverride string            // from start, or a port conflict's answer; cleared by stop
	managePy     string            // set by every launch
	pythonOK     string            // the interpreter that passed the check
	check        *interpreterCheck // set in the checking-interpreter sub-state
	shim         string

	run  *run             // the live process (run.go), or nil
	sent map[string]stamp // the file state last sent to a process, to drop duplicate events

	// A storm: changes that arrive while a reload runs are held, and sent
	// once no change has come for StormQuiet (see changes.go).
	held       []trigger
	lastChange time.Time // when the latest held change arrived
	quietTimer Timer     // set while the stream of changes is not yet quiet

	reloads      int
	lastReloadMs *float64
	trigger      *trigger // cause of the current or latest (re)load
	err          *protocol.Error
	frames       []parse.Frame // err's traceback frames inside the folder, for the error page

	// ln is the address kept for the processes (fast mode, see browser.go),
	// from a spawn until the stop, or until the address or mode changes.
	ln        KeptSocket
	lnForPage bool // ln was bound by the engine for the error page, not sent by a process

	// runserver is the runserver the latest process said it runs, or nil
	// (runserver.go); announced is the command whose features the log last
	// announced, since the start.
	runserver *protocol.Runserver
	announced string

	stopWaiters  []chan protocol.Status
	startPending *string // a start that arrived while stopping

	retryTimer Timer // crash restart backoff
	crashes    []time.Time

	watcher *watch.Watcher
	diags   map[string][]protocol.Diagnostic // published, by URI
	// failedRequests are the diagnostics of the live process's requests
	// that raised, by request path, until the path next succeeds.
	failedRequests map[string]failedRequest

	warm warmth     // the preloader reloads fork from (preload.go)
	dbg  debugState // see debug.go
}

// New returns the engine of the folder at path, known to the editor as uri,
// on the real machine.
func New(uri, path string, n Notifier) *Engine {
	return NewWith(uri, path, n, systemDeps())
}

// NewWith returns an engine that uses d's seams.
func NewWith(uri, path string, n Notifier, d Deps) *Engine {
	e := newEngine(uri, path, n, d)
	go e.loop()
	return e
}

// newEngine is an engine whose loop is not yet running.
func newEngine(uri, path string, n Notifier, d Deps) *Engine {
	ctx, end := context.WithCancel(context.Background())
	e := &Engine{
		uri: uri, folder: path, n: n,
		launcher: d.Launcher, prober: d.Prober, clock: d.Clock,
		relays: d.Relays, preloaders: d.Preloaders, sockets: d.Sockets,
		ops: make(chan func(), 256), quit: make(chan struct{}),
		ctx: ctx, end: end,
		state: protocol.StateStopped,
		diags: map[string][]protocol.Diagnostic{},

		failedRequests: map[string]failedRequest{},
	}
	if e.launcher == nil {
		e.launcher = systemLauncher{}
	}
	if e.prober == nil {
		e.prober = portcheck.Local
	}
	if e.clock == nil {
		e.clock = systemClock{}
	}
	if e.relays == nil {
		e.relays = systemRelays{}
	}
	e.badMove = e.reportBadMove
	e.settings, e.settingsErr = config.Resolve(nil, nil)
	return e
}

func (e *Engine) loop() {
	for {
		select {
		case f := <-e.ops:
			f()
		case <-e.quit:
			return
		}
	}
}

// post runs f on the loop. After Close it does nothing.
func (e *Engine) post(f func()) {
	select {
	case e.ops <- f:
	case <-e.quit:
	}
}

// call runs f on the loop and returns its result.
func call[T any](e *Engine, f func() T) T {
	ch := make(chan T, 1)
	e.post(func() { ch <- f() })
	select {
	case v := <-ch:
		return v
	case <-e.quit:
		var zero T
		return zero
	}
}

// Folder is the folder's path.
func (e *Engine) Folder() string { return e.folder }

// HasManagePy reports whether the folder has a manage.py to run, under the
// current settings.
func (e *Engine) HasManagePy() bool {
	return call(e, func() bool {
		_, err := config.FindManagePy(e.folder, e.settings.ManagePy)
		return err == nil
	})
}

// SetSettings replaces the settings. A running server keeps running; the
// next start or reload uses them. err, when set, fails the next start.
func (e *Engine) SetSettings(s protocol.Settings, err error) {
	e.post(func() {
		old := e.settings
		e.settings, e.settingsErr = s, err
		if old.Python != s.Python {
			e.pythonOK = ""
		}
		if e.watcher != nil && (!slices.Equal(old.WatchExclude, s.WatchExclude) || old.Watch != s.Watch || old.PollInterval != s.PollInterval) {
			e.closeWatcher()
			e.ensureWatcher()
			e.notify() // the status names the watch mode
		}
	})
}

// Status returns the current status.
func (e *Engine) Status() protocol.Status {
	return call(e, e.status)
}

// Start starts the server, on address if it is not empty. A server already
// starting or running is left alone, unless it runs under the debugger:
// then it restarts without.
func (e *Engine) Start(address string) protocol.Status {
	return e.start(address, false, 0)
}

// Debug starts the server under the debugger (see debug.go), on address if
// it is not empty. Its first process waits up to wait for a debugger to
// attach before it serves (0: it serves at once; DebugWaitForever: until
// one attaches); requests wait in the socket's queue meanwhile. A server
// already starting or running under the debugger is left alone; one
// running without restarts under it.
func (e *Engine) Debug(address string, wait time.Duration) protocol.Status {
	return e.start(address, true, wait)
}

func (e *Engine) start(address string, debug bool, wait time.Duration) protocol.Status {
	return call(e, func() protocol.Status {
		switch e.state {
		case protocol.StateStarting, protocol.StateRunning, protocol.StateReloading:
			if e.dbg.on == debug {
				return e.status()
			}
		case protocol.StateStopping:
			e.startPending, e.dbg.on, e.dbg.wait = &address, debug, wait
			return e.status()
		}
		if address == "" && e.run != nil {
			address = e.addrOverride // switching the debugger keeps the address in use
		}
		e.dbg.on, e.dbg.wait = debug, wait
		stopTimer(&e.retryTimer)
		e.addrOverride = address
		e.reloads, e.lastReloadMs, e.crashes = 0, nil, nil
		e.pythonOK = "" // a start checks the interpreter again: the user may have just installed Django
		t := e.now(protocol.TriggerCommand)
		if e.run != nil {
			e.restartProc(evStart, t)
		} else {
			e.launch(evStart, t)
		}
		return e.status()
	})
}

// Restart restarts a live server, or starts a stopped or failed one.
func (e *Engine) Restart() protocol.Status {
	return call(e, func() protocol.Status {
		t := e.now(protocol.TriggerCommand)
		stopTimer(&e.retryTimer)
		e.pythonOK = ""
		switch {
		case e.state == protocol.StateStopping:
			addr := e.addrOverride
			e.startPending = &addr
		case e.run != nil:
			e.restartProc(evReload, t)
		case e.state == protocol.StateStopped:
			e.reloads, e.lastReloadMs, e.crashes = 0, nil, nil
			e.launch(evStart, t)
		default:
			e.launch(evReload, t)
		}
		return e.status()
	})
}

// Stop stops the server. The channel delivers the final status once the
// process tree is gone and the port is free.
func (e *Engine) Stop() <-chan protocol.Status {
	ch := make(chan protocol.Status, 1)
	e.post(func() {
		stopTimer(&e.retryTimer)
		e.startPending = nil
		if e.run == nil {
			e.finishStop()
			ch <- e.status()
			return
		}
		e.stopWaiters = append(e.stopWaiters, ch)
		if e.state == protocol.StateStopping {
			return
		}
		e.transition(evStop)
		e.notify()
		e.run.pending = pendingStop
		e.stopProc()
	})
	return ch
}

// Changed reports changed files: from a save in the editor, or from a
// watcher. at is when the change was seen.
func (e *Engine) Changed(paths []string, kind protocol.TriggerKind, at time.Time) {
	e.post(func() { e.changed(paths, kind, at) })
}

// Close stops the server and ends the engine.
func (e *Engine) Close() {
	select {
	case <-e.quit:
		return
	default:
	}
	<-e.Stop()
	e.end()
	close(e.quit)
	e.wg.Wait()
}

func (e *Engine) finishStop() {
	e.endCheck()
	changed := e.state != protocol.StateStopped
	e.transition(evStopped)
	e.err = nil
	e.addrOverride = ""
	e.held = nil
	stopTimer(&e.quietTimer)
	e.closeWatcher()
	e.closePreload()
	e.clearDiagnostics()
	e.closeSocket()
	if changed {
		e.notify()
		e.log(protocol.MessageInfo, e.name()+" stopped")
	}
	for _, ch := range e.stopWaiters {
		ch <- e.status()
	}
	e.stopWaiters = nil
	e.dbg.on = e.dbg.on && e.startPending != nil // a plain stop ends debugging
	e.closeRelayUnlessDebugging()
	if p := e.startPending; p != nil {
		e.startPending = nil
		e.addrOverride = *p
		e.reloads, e.lastReloadMs, e.crashes = 0, nil, nil
		e.launch(evStart, e.now(protocol.TriggerCommand))
	}
}

// restartProc stops the live process and launches a new one on ev once it
// is gone.
func (e *Engine) restartProc(ev event, t *trigger) {
	e.trigger = t
	e.transition(ev)
	e.notify()
	r := e.run
	r.pending, r.restartEvent, r.restartTrigger = pendingRestart, ev, t
	e.stopProc()
}

// stopProc interrupts the live process; its exit comes back to the loop.
func (e *Engine) stopProc() {
	proc := e.run.proc
	e.wg.Go(func() { proc.Stop(StopGrace) })
}

// endCheck leaves the checking-interpreter sub-state: the check's outcome
// no longer applies.
func (e *Engine) endCheck() {
	if c := e.check; c != nil {
		e.check = nil
		c.cancel()
	}
}

func (e *Engine) notify() { e.n.Status(e.status()) }

func (e *Engine) log(typ protocol.MessageType, text string) {
	e.n.LogMessage(Message{Type: typ, Text: text})
}

// now is a trigger of kind, now.
func (e *Engine) now(kind protocol.TriggerKind) *trigger {
	return &trigger{kind: kind, at: e.clock.Now()}
}

func (e *Engine) status() protocol.Status {
	st := protocol.Status{
		Folder:       e.uri,
		State:        e.state,
		Address:      e.addressString(),
		Reloads:      e.reloads,
		LastReloadMs: e.lastReloadMs,
		Error:        e.err,
		Mode:         e.settings.Reload,
		Start:        e.warm.start,
		ColdReason:   e.warm.coldReason,
		SetUpAhead:   e.warm.setUpAhead,
		Debug:        e.debugStatus(),
	}
	if e.addr.Port != 0 && e.state != protocol.StateStopped {
		st.URL = e.addr.URL()
	}
	if e.run != nil {
		st.PID = e.run.proc.PID()
	}
	if e.watcher != nil {
		st.Watch = string(e.watcher.Mode())
	}
	if e.trigger != nil {
		st.Trigger = &protocol.Trigger{Kind: e.trigger.kind, Path: e.trigger.path}
	}
	e.browserStatus(&st)
	return st
}

// addressString is the address in effect, or the one the next start uses.
func (e *Engine) addressString() string {
	if e.addr.Port != 0 && e.state != protocol.StateStopped {
		return e.addr.String()
	}
	s := e.addrOverride
	if s == "" {
		s = e.settings.Address
	}
	if a, err := portcheck.Parse(s); err == nil {
		return a.String()
	}
	if s == "" {
		return portcheck.DefaultAddress
	}
	return s
}

func (e *Engine) name() string {
	return "[" + filepath.Base(e.folder) + "]"
}
