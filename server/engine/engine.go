// Package engine runs one workspace folder's Django server: it owns the
// state machine of DESIGN.md (stopped, starting, running, reloading,
// stopping, failed), spawns runserver through the reloader shim, decides
// when it is ready, turns exits and output into statuses and diagnostics, and
// feeds changed files to the live process.
//
// Every field is owned by one goroutine, the loop: the public methods and
// the process, readiness and watcher goroutines post closures to it. That
// keeps the state machine free of locks and its transitions in one order.
package engine

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/supervisor"
	"github.com/django-runserver/django-runserver/server/watch"
)

// Notifier is where an engine reports. The session sends it to the editor;
// the terminal prints it.
type Notifier interface {
	// Status reports a state change.
	Status(protocol.Status)
	// Log reports one line of Django's output.
	Log(protocol.LogParams)
	// Diagnostics replaces the diagnostics of one file (an empty list clears it).
	Diagnostics(uri string, diags []protocol.Diagnostic)
	// ShowMessage tells the user something worth a notification.
	ShowMessage(typ protocol.MessageType, msg string)
	// LogMessage is one of our own status lines.
	LogMessage(typ protocol.MessageType, msg string)
	// Ask shows msg with actions and returns the one chosen, or "" if none
	// was. It may block until the user answers or ctx ends.
	Ask(ctx context.Context, typ protocol.MessageType, msg string, actions ...string) string
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

// Engine runs one folder's server.
type Engine struct {
	uri    string // workspace folder URI
	folder string // its absolute path
	n      Notifier

	ops  chan func()
	quit chan struct{}
	ctx  context.Context // ends with Close, for Ask
	end  context.CancelFunc
	wg   conc.WaitGroup

	// Owned by the loop goroutine.
	settings     protocol.Settings
	settingsErr  error
	state        protocol.State
	addr         portcheck.Address // set by every spawn
	addrOverride string            // from start, or a port conflict's answer; cleared by stop
	managePy     string            // set by every spawn
	pythonOK     string            // the interpreter that passed the preflight
	checks       int               // counts interpreter checks; a check's outcome applies only if it is the latest
	cancelCheck  func()            // ends the latest interpreter check, if one runs
	shim         string

	proc     *supervisor.Process // the live process, or nil
	out      *output             // what proc printed that matters
	ready    bool                // proc accepts connections
	inflight map[string]trigger  // paths sent to proc, by path
	held     []trigger           // changes that arrived while proc was starting
	sent     map[string]stamp    // the file state last sent, to drop duplicate events

	reloads      int
	lastReloadMs *float64
	trigger      *trigger // cause of the current or latest (re)load
	err          *protocol.Error

	afterExit    func() // what to do when proc exits: finish a stop or a restart
	stopWaiters  []chan protocol.Status
	startPending *string // a start that arrived while stopping

	startTimer *time.Timer // startup timeout of proc
	retryTimer *time.Timer // crash restart backoff
	crashes    []time.Time

	watcher *watch.Watcher
	diags   map[string][]protocol.Diagnostic // published, by URI
}

// New returns the engine of the folder at path, known to the editor as uri.
func New(uri, path string, n Notifier) *Engine {
	ctx, end := context.WithCancel(context.Background())
	e := &Engine{
		uri: uri, folder: path, n: n,
		ops: make(chan func(), 256), quit: make(chan struct{}),
		ctx: ctx, end: end,
		state: protocol.StateStopped,
		diags: map[string][]protocol.Diagnostic{},
	}
	e.settings, e.settingsErr = config.Resolve(nil, nil)
	go e.loop()
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

// URI is the folder's URI.
func (e *Engine) URI() string { return e.uri }

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
// starting or running is left alone.
func (e *Engine) Start(address string) protocol.Status {
	return call(e, func() protocol.Status {
		switch e.state {
		case protocol.StateStarting, protocol.StateRunning, protocol.StateReloading:
			return e.status()
		case protocol.StateStopping:
			e.startPending = &address
			return e.status()
		}
		e.stopTimers()
		e.addrOverride = address
		e.reloads, e.lastReloadMs, e.crashes = 0, nil, nil
		e.pythonOK = "" // a start checks the interpreter again: the user may have just installed Django
		if e.proc != nil {
			e.restartProc(protocol.StateStarting, &trigger{kind: protocol.TriggerCommand, at: time.Now()})
			return e.status()
		}
		e.launch(protocol.StateStarting, &trigger{kind: protocol.TriggerCommand, at: time.Now()})
		return e.status()
	})
}

// Restart restarts a live server, or starts a stopped or failed one.
func (e *Engine) Restart() protocol.Status {
	return call(e, func() protocol.Status {
		t := &trigger{kind: protocol.TriggerCommand, at: time.Now()}
		e.stopTimers()
		e.pythonOK = ""
		switch {
		case e.state == protocol.StateStopping:
			addr := e.addrOverride
			e.startPending = &addr
		case e.proc != nil:
			e.restartProc(protocol.StateReloading, t)
		case e.state == protocol.StateStopped:
			e.reloads, e.lastReloadMs, e.crashes = 0, nil, nil
			e.launch(protocol.StateStarting, t)
		default:
			e.launch(protocol.StateReloading, t)
		}
		return e.status()
	})
}

// Stop stops the server. The channel delivers the final status once the
// process tree is gone and the port is free.
func (e *Engine) Stop() <-chan protocol.Status {
	ch := make(chan protocol.Status, 1)
	e.post(func() {
		e.stopTimers()
		e.startPending = nil
		if e.proc == nil {
			e.finishStop()
			ch <- e.status()
			return
		}
		e.stopWaiters = append(e.stopWaiters, ch)
		if e.state == protocol.StateStopping {
			return
		}
		e.setState(protocol.StateStopping)
		e.afterExit = e.finishStop
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
	e.checks++ // an interpreter check under way no longer applies
	if e.cancelCheck != nil {
		e.cancelCheck()
		e.cancelCheck = nil
	}
	changed := e.state != protocol.StateStopped
	e.state = protocol.StateStopped
	e.err = nil
	e.addrOverride = ""
	e.held, e.inflight = nil, nil
	e.closeWatcher()
	e.clearDiagnostics()
	if changed {
		e.notify()
		e.n.LogMessage(protocol.MessageInfo, e.name()+" stopped")
	}
	for _, ch := range e.stopWaiters {
		ch <- e.status()
	}
	e.stopWaiters = nil
	if p := e.startPending; p != nil {
		e.startPending = nil
		e.addrOverride = *p
		e.reloads, e.lastReloadMs, e.crashes = 0, nil, nil
		e.launch(protocol.StateStarting, &trigger{kind: protocol.TriggerCommand, at: time.Now()})
	}
}

// restartProc stops the live process and spawns a new one once it is gone.
func (e *Engine) restartProc(state protocol.State, t *trigger) {
	e.trigger = t
	e.setState(state)
	e.afterExit = func() { e.launch(state, t) }
	e.stopProc()
}

func (e *Engine) stopProc() {
	proc := e.proc
	e.wg.Go(func() { proc.Stop(StopGrace) })
}

func (e *Engine) stopTimers() {
	if e.retryTimer != nil {
		e.retryTimer.Stop()
		e.retryTimer = nil
	}
}

func (e *Engine) setState(s protocol.State) {
	e.state = s
	e.notify()
}

func (e *Engine) notify() { e.n.Status(e.status()) }

func (e *Engine) status() protocol.Status {
	st := protocol.Status{
		Folder:       e.uri,
		State:        e.state,
		Address:      e.addressString(),
		Reloads:      e.reloads,
		LastReloadMs: e.lastReloadMs,
		Error:        e.err,
		Mode:         e.settings.Reload,
	}
	if e.addr.Port != 0 && e.state != protocol.StateStopped {
		st.URL = e.addr.URL()
	}
	if e.proc != nil {
		st.PID = e.proc.PID()
	}
	if e.watcher != nil {
		st.Watch = string(e.watcher.Mode())
	}
	if e.trigger != nil {
		st.Trigger = &protocol.Trigger{Kind: e.trigger.kind, Path: e.trigger.path}
	}
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
