package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/reloader"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// preflightInline is how long the loop waits for the interpreter check. A
// real Python answers well within it, so a start replies failed at once for
// a bad interpreter; a slower check goes on off the loop, so that a hanging
// "python" never freezes the engine, nor the editor waiting on it.
const preflightInline = 2 * time.Second

// plan is what a spawn needs, found and checked on the loop.
type plan struct {
	python, dir string
	env         []string
}

// launch spawns a new server process and moves on ev (evStart or
// evReload), or fails with a reason if anything is wrong before the spawn.
func (e *Engine) launch(ev event, t *trigger) {
	e.trigger = t
	if ev == evStart {
		e.announced = "" // a start says again what the browser gets
	}
	e.frames = nil
	e.endCheck()
	p, perr := e.plan()
	if perr != nil && perr.Code == protocol.CodeManagePyNotFound {
		if _, err := os.Stat(e.folder); err != nil {
			// The folder itself went, and manage.py with it: say so, whether
			// or not the watcher has told us yet.
			e.folderGone()
			return
		}
	}
	if perr != nil {
		e.fail(perr)
		return
	}
	if e.pythonOK != p.python && !e.checkPython(p, ev) {
		return // failed, or checking off the loop: the check spawns when it passes
	}
	e.spawn(p, ev)
}

// plan finds the interpreter, manage.py and environment of a spawn.
func (e *Engine) plan() (plan, *protocol.Error) {
	s := e.settings
	if e.settingsErr != nil {
		perr := &protocol.Error{Code: protocol.CodeInvalidSettings, Message: capitalize(e.settingsErr.Error()) + ", then start again."}
		if inv, ok := e.settingsErr.(*config.Invalid); ok {
			perr.Setting = inv.Problems[0].Key
		}
		return plan{}, perr
	}
	if _, perr := e.parseAddress(); perr != nil {
		return plan{}, perr
	}
	if perr := e.debugModeError(); perr != nil {
		return plan{}, perr
	}
	managePy, err := config.FindManagePy(e.folder, s.ManagePy)
	if err != nil {
		return plan{}, &protocol.Error{Code: protocol.CodeManagePyNotFound, Message: capitalize(err.Error()) + ".", Setting: "managePy"}
	}
	e.managePy = managePy
	dir := filepath.Dir(managePy)
	e.ensureWatcher()
	python, err := config.FindPython(e.folder, dir, s.Python)
	if err != nil {
		return plan{}, &protocol.Error{Code: protocol.CodePythonNotFound, Message: capitalize(err.Error()) + ".", Setting: "python"}
	}
	env, err := config.Environ(e.folder, s.EnvFile, s.Env, reloader.Env(s.Reload))
	if err != nil {
		return plan{}, &protocol.Error{Code: protocol.CodeInvalidSettings, Message: capitalize(err.Error()) + ". Fix the environment file, or choose another.", Setting: "envFile"}
	}
	return plan{python: python, dir: dir, env: env}, nil
}

// checkPython runs the interpreter check. If it ends within
// preflightInline, checkPython reports whether it passed, and fails the
// server if not. Otherwise the engine moves on ev into the
// checking-interpreter sub-state and checkPython reports false; the check's
// outcome then fails the server or spawns it, unless a stop or another
// launch came first.
func (e *Engine) checkPython(p plan, ev event) bool {
	ctx, cancel := context.WithCancel(e.ctx)
	c := &interpreterCheck{cancel: cancel}
	done := make(chan *protocol.Error, 1)
	e.wg.Go(func() { defer cancel(); done <- e.launcher.CheckPython(ctx, p.python, p.dir, p.env) })
	slow := make(chan struct{})
	timer := e.clock.AfterFunc(preflightInline, func() { close(slow) })
	select {
	case perr := <-done:
		timer.Stop()
		return e.recordCheck(p, perr)
	case <-slow:
	}
	e.check = c
	e.err = nil
	e.transition(ev)
	e.notify()
	e.wg.Go(func() {
		perr := <-done
		e.post(func() {
			if e.check != c {
				return // stopped, failed, or superseded by another launch
			}
			e.check = nil
			if e.recordCheck(p, perr) {
				e.spawn(p, ev)
			}
		})
	})
	return false
}

// recordCheck records the outcome of an interpreter check, and reports whether
// it passed.
func (e *Engine) recordCheck(p plan, perr *protocol.Error) (passed bool) {
	if perr != nil {
		e.fail(perr)
		return false
	}
	e.pythonOK = p.python
	return true
}

// spawn probes the address unless the engine holds it, starts the process
// as a new run, and moves on ev.
func (e *Engine) spawn(p plan, ev event) {
	s := e.settings
	addr, perr := e.bindable()
	if perr != nil {
		e.fail(perr)
		return
	}
	e.addr = addr
	if e.shim == "" {
		var err error
		if e.shim, err = reloader.WriteShim(); err != nil {
			e.fail(&protocol.Error{Code: protocol.CodeStartupFailed, Message: capitalize(err.Error()) + ". Check that your cache or temporary folder is writable."})
			return
		}
	}
	h, perr := e.prepareHandoff()
	if perr != nil {
		e.fail(perr)
		return
	}
	args, env := reloader.Args(e.shim, s.Reload, e.managePy, addr.String(), s.Args), slices.Concat(e.serverEnv(p), h.env)
	timeout := time.Duration(s.StartupTimeout * float64(time.Second))
	if e.dbg.on {
		var wait time.Duration
		args, env, wait = e.debugArgs(args, env)
		timeout += max(wait, 0) // the process serves once a debugger attached, or this passed (DebugWaitForever: see debugListening)
	}
	r := &run{out: newOutput(s.Reload), inflight: map[string]trigger{}, underDebugger: e.dbg.on}
	// The new process loads the files as they are now, changes held until
	// now included: their stamps are what it will see. They are taken
	// before it starts, never after: a process (a fork above all) may read a
	// file before a stat after its start, and a write landing between the
	// two would be stamped as loaded, its change dropped as a duplicate, and
	// the process left on the older code. A stamp taken first is at worst
	// older than what the process reads, which costs one more reload, never
	// a lost change.
	for _, t := range e.held {
		e.stampSent(t.path)
	}
	proc, err := e.startServer(p, ev, supervisor.Spec{
		Path:          p.python,
		Args:          args,
		Dir:           p.dir,
		Env:           env,
		ExtraFiles:    h.files,
		OnParentDeath: onParentDeath(s.Reload),
		OnLine:        e.onLine(r),
	})
	h.spawned(err == nil)
	if err != nil {
		e.fail(&protocol.Error{Code: protocol.CodePythonNotFound, Setting: "python",
			Message: fmt.Sprintf("Cannot run %s: %v. Choose a Python 3 interpreter.", p.python, err)})
		return
	}
	r.proc = e.withReadyChannel(r, h, proc)
	e.run = r
	e.held = nil // in what the process loads
	e.err = nil
	e.transition(ev)
	e.notify()
	verb := "starting"
	if ev == evReload {
		verb = "reloading"
	}
	e.log(protocol.MessageInfo, fmt.Sprintf("%s %s %s (pid %d, %s reload)", e.name(), verb, addr.URL(), r.proc.PID(), s.Reload))
	e.wg.Go(func() {
		<-r.proc.Done()
		e.post(func() { e.exited(r) })
	})
	if s.Reload != protocol.ReloadDjango {
		e.awaitReady(r, ev == evStart)
	} // Django's own reloader: wait for its child's "Watching for file changes" line.
	r.startTimer = e.clock.AfterFunc(timeout, func() { e.post(func() { e.timedOut(r) }) })
}

// onParentDeath is what the kernel sends the process when the backend dies
// (Linux). In fast and off modes the process is the server: SIGKILL. Under
// Django's own reloader it is the reloader, and its child serves: it gets
// SIGTERM, on which Django kills the child as it exits. The shim makes the
// child die with the reloader however the reloader dies, and takes its
// process group down on stdin EOF, on every platform.
func onParentDeath(mode protocol.ReloadMode) supervisor.ParentDeath {
	if mode == protocol.ReloadDjango {
		return supervisor.TerminateOnParentDeath
	}
	return supervisor.KillOnParentDeath
}

// bindable parses the address in effect and probes it, applying the
// onPortConflict setting when the port is taken.
func (e *Engine) bindable() (portcheck.Address, *protocol.Error) {
	addr, perr := e.parseAddress()
	if perr != nil {
		return addr, perr
	}
	e.addr = addr
	e.closeSocketUnlessFor(addr)
	if e.ln != nil {
		return addr, nil // the engine holds the address: a probe would only find the engine itself
	}
	perr = portcheck.Conflict(e.prober, addr)
	switch d := portcheck.Decide(e.settings.OnPortConflict, perr); d.Action {
	case portcheck.UseNext:
		e.addrOverride = d.Next.String()
		e.n.ShowMessage(Message{Type: protocol.MessageInfo, Text: d.Notice})
		return d.Next, nil
	case portcheck.Ask:
		e.ask(perr, d)
	}
	return addr, perr
}

// parseAddress parses the address in effect.
func (e *Engine) parseAddress() (portcheck.Address, *protocol.Error) {
	raw := e.addrOverride
	if raw == "" {
		raw = e.settings.Address
	}
	addr, err := portcheck.Parse(raw)
	if err != nil {
		return addr, &protocol.Error{Code: protocol.CodeInvalidAddress, Message: capitalize(err.Error()) + ".", Setting: portcheck.Setting}
	}
	return addr, nil
}

// ask offers the suggested port; choosing it starts the server there.
func (e *Engine) ask(perr *protocol.Error, d portcheck.Decision) {
	e.wg.Go(func() {
		if e.n.Ask(e.ctx, protocol.MessageError, perr.Message, d.Offer, "Cancel") == d.Offer {
			e.post(func() {
				if e.state == protocol.StateFailed && e.run == nil {
					e.addrOverride = d.Next.String()
					e.launch(evStart, e.now(protocol.TriggerCommand))
				}
			})
		}
	})
}

// awaitReady reports r's process ready once it accepts connections. With
// owned, the listener must be the process's (see Process.AwaitReady).
// Reloads skip that check (it costs milliseconds): the port was just ours.
func (e *Engine) awaitReady(r *run, owned bool) {
	addr := e.addr
	e.wg.Go(func() {
		if r.proc.AwaitReady(e.ctx, addr, owned) {
			e.post(func() { e.becameReady(r) })
		}
	})
}

// becameReady: r's process accepts connections. One being stopped,
// restarted or discarded no longer counts: its exit decides what follows.
func (e *Engine) becameReady(r *run) {
	if r != e.run || r.ready || r.pending != pendingNone {
		return
	}
	r.ready = true
	stopTimer(&r.startTimer)
	if e.state == protocol.StateReloading && e.trigger != nil {
		e.reloads++
		ms := float64(e.clock.Now().Sub(e.trigger.at).Microseconds()) / 1000
		e.lastReloadMs = &ms
	}
	e.err = nil
	e.clearDiagnostics()
	e.announceBrowser(r)
	if e.addr.Wildcard() {
		e.warnWildcard()
	}
	e.transition(evReady)
	e.notify()
	msg := fmt.Sprintf("%s running at %s (pid %d)", e.name(), e.addr.URL(), r.proc.PID())
	if e.reloads > 0 && e.lastReloadMs != nil {
		msg += fmt.Sprintf(", reloaded in %.0f ms", *e.lastReloadMs) + e.startNote()
	}
	e.log(protocol.MessageInfo, msg)
	if e.settings.Reload == protocol.ReloadFast {
		_ = r.proc.Send("") // the shim's cue to list the watched files while idle
		e.preload()
	}
	if e.quietTimer == nil {
		e.sendHeld()
	} // else changes still arrive: they are sent once the stream is quiet
}

// timedOut fails a server that never accepted a connection.
func (e *Engine) timedOut(r *run) {
	if r != e.run || r.ready || r.pending != pendingNone {
		return // ready, gone, or already being stopped or restarted
	}
	perr := &protocol.Error{Code: protocol.CodeStartupTimeout, Setting: "startupTimeout",
		Message: fmt.Sprintf("Django did not accept connections on %s within %g s, so it was stopped. Check its log for what it was doing, or allow it more time to start.", e.addr, e.settings.StartupTimeout)}
	r.pending = pendingDiscard
	e.fail(perr)
	e.stopProc()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
