package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/reloader"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// readyPoll is the interval between connection attempts while a server
// starts. A refused connect on loopback costs microseconds.
const readyPoll = 5 * time.Millisecond

// preflightTimeout bounds the interpreter check.
const preflightTimeout = 30 * time.Second

// launch spawns a new server process and enters state (starting or
// reloading), or fails with a reason if anything is wrong before the spawn.
func (e *Engine) launch(state protocol.State, t *trigger) {
	e.trigger = t
	spec, perr := e.prepare(state, t)
	if perr == errChecking {
		return // the interpreter check goes on off the loop; it launches when it passes
	}
	if perr != nil {
		e.fail(perr)
		return
	}
	out := newOutput(e.settings.Reload)
	spec.OnLine = e.onLine(out)
	proc, err := supervisor.Start(spec)
	if err != nil {
		e.fail(&protocol.Error{Code: protocol.CodePythonNotFound,
			Message: fmt.Sprintf("Cannot run %s: %v. Set djangoRunserver.python to a Python 3 interpreter.", spec.Path, err)})
		return
	}
	e.proc, e.out, e.ready = proc, out, false
	e.inflight = map[string]trigger{}
	e.err = nil
	e.setState(state)
	verb := "starting"
	if state == protocol.StateReloading {
		verb = "reloading"
	}
	e.n.LogMessage(protocol.MessageInfo, fmt.Sprintf("%s %s %s (pid %d, %s reload)", e.name(), verb, e.addr.URL(), proc.PID(), e.settings.Reload))
	e.wg.Go(func() {
		<-proc.Done()
		e.post(func() { e.exited(proc) })
	})
	if e.settings.Reload != protocol.ReloadDjango {
		e.awaitReady(proc, state == protocol.StateStarting)
	} // Django's own reloader: wait for its child's "Watching for file changes" line.
	timeout := time.Duration(e.settings.StartupTimeout * float64(time.Second))
	e.startTimer = time.AfterFunc(timeout, func() { e.post(func() { e.timedOut(proc) }) })
}

// prepare finds everything a spawn needs, and checks it. It returns
// errChecking when a slow interpreter check was moved off the loop.
func (e *Engine) prepare(state protocol.State, t *trigger) (supervisor.Spec, *protocol.Error) {
	s := e.settings
	if e.settingsErr != nil {
		return supervisor.Spec{}, &protocol.Error{Code: protocol.CodeInvalidSettings, Message: e.settingsErr.Error()}
	}
	if _, err := e.parseAddress(); err != nil {
		return supervisor.Spec{}, err
	}
	managePy, err := config.FindManagePy(e.folder, s.ManagePy)
	if err != nil {
		return supervisor.Spec{}, &protocol.Error{Code: protocol.CodeManagePyNotFound, Message: capitalize(err.Error()) + "."}
	}
	e.managePy = managePy
	dir := filepath.Dir(managePy)
	e.ensureWatcher()
	python, err := config.FindPython(e.folder, dir, s.Python)
	if err != nil {
		return supervisor.Spec{}, &protocol.Error{Code: protocol.CodePythonNotFound, Message: capitalize(err.Error()) + "."}
	}
	env, err := config.Environ(e.folder, s.EnvFile, s.Env, reloader.Env(s.Reload))
	if err != nil {
		return supervisor.Spec{}, &protocol.Error{Code: protocol.CodeInvalidSettings, Message: capitalize(err.Error()) + ". Fix djangoRunserver.envFile."}
	}
	if e.pythonOK != python {
		if perr := e.checkPython(python, dir, env, state, t); perr != nil {
			return supervisor.Spec{}, perr
		}
		e.pythonOK = python
	}
	addr, perr := e.bindable()
	if perr != nil {
		return supervisor.Spec{}, perr
	}
	e.addr = addr
	if e.shim == "" {
		if e.shim, err = reloader.WriteShim(); err != nil {
			return supervisor.Spec{}, &protocol.Error{Code: protocol.CodeStartupFailed, Message: capitalize(err.Error()) + ". Check that your cache or temporary folder is writable."}
		}
	}
	return supervisor.Spec{
		Path:          python,
		Args:          reloader.Args(e.shim, s.Reload, managePy, addr.String(), s.Args),
		Dir:           dir,
		Env:           env,
		OnParentDeath: onParentDeath(s.Reload),
	}, nil
}

// errChecking is prepare's answer while the interpreter check runs off the
// loop.
var errChecking = &protocol.Error{}

// onParentDeath: Django's own reloader must take its child down when the
// backend dies. On SIGTERM it exits through subprocess.run, which kills the
// child; a SIGKILL would leave the child serving. (The shim also does it on
// stdin EOF, on every platform.)
func onParentDeath(mode protocol.ReloadMode) supervisor.ParentDeath {
	if mode == protocol.ReloadDjango {
		return supervisor.TerminateOnParentDeath
	}
	return supervisor.KillOnParentDeath
}

// preflightInline is how long the loop waits for the interpreter check. A
// real Python answers well within it, so a start replies failed at once for
// a bad interpreter; a slower check goes on off the loop, so that a hanging
// "python" never freezes the engine, nor the editor waiting on it.
const preflightInline = 2 * time.Second

// checkPython runs preflight. If it takes longer than preflightInline, the
// engine enters state without a process and returns errChecking; the check's
// outcome then fails the server or launches it, unless a stop or another
// launch came first.
func (e *Engine) checkPython(python, dir string, env []string, state protocol.State, t *trigger) *protocol.Error {
	e.checks++
	gen := e.checks
	ctx, cancel := context.WithCancel(e.ctx)
	e.cancelCheck = cancel
	done := make(chan *protocol.Error, 1)
	e.wg.Go(func() { defer cancel(); done <- preflight(ctx, python, dir, env) })
	select {
	case perr := <-done:
		return perr
	case <-time.After(preflightInline):
	}
	e.err = nil
	e.setState(state)
	e.wg.Go(func() {
		perr := <-done
		e.post(func() {
			if gen != e.checks || e.proc != nil || e.state != state {
				return // stopped, or superseded by another launch
			}
			if perr != nil {
				e.fail(perr)
				return
			}
			e.pythonOK = python
			e.launch(state, t)
		})
	})
	return errChecking
}

// maxPreflightOutput bounds what is kept of the interpreter check's output:
// a "python" that floods its output must not grow our memory.
const maxPreflightOutput = 64 << 10

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// preflight checks that python is a Python 3 that can import Django, so the
// user learns which of the two to fix.
func preflight(ctx context.Context, python, dir string, env []string) *protocol.Error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c",
		"import sys; print('python', sys.version_info[0]); sys.stdout.flush(); import django; print('django', django.get_version())")
	cmd.Dir, cmd.Env = dir, env
	killGroupOnCancel(cmd) // what the "python" started goes too
	out := &capped{max: maxPreflightOutput}
	cmd.Stdout, cmd.Stderr = out, out
	// A child of the interpreter may hold the output open after it is
	// killed: stop waiting for it soon after.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return &protocol.Error{Code: protocol.CodePythonNotFound,
			Message: fmt.Sprintf("%s did not answer within %s when asked for its version, so it was stopped. Set djangoRunserver.python to a Python 3 interpreter.", python, preflightTimeout)}
	}
	out.mu.Lock()
	text := string(out.buf)
	out.mu.Unlock()
	var exitErr *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exitErr):
		return &protocol.Error{Code: protocol.CodePythonNotFound,
			Message: fmt.Sprintf("Cannot run Python at %s: %v. Set djangoRunserver.python to a Python 3 interpreter.", python, err)}
	case !strings.Contains(text, "python 3"):
		return &protocol.Error{Code: protocol.CodePythonNotFound,
			Message: fmt.Sprintf("%s is not a Python 3 interpreter (it printed %q). Set djangoRunserver.python to one.", python, firstLine(text))}
	case !strings.Contains(text, "\ndjango "):
		return &protocol.Error{Code: protocol.CodeDjangoNotFound,
			Message: fmt.Sprintf("%s cannot import Django (%s). Install Django in that environment (%s -m pip install django), or set djangoRunserver.python to an interpreter that has it.",
				python, lastLine(text), python)}
	}
	return nil
}

// bindable parses the address in effect and probes it, applying the
// onPortConflict setting when the port is taken.
func (e *Engine) bindable() (portcheck.Address, *protocol.Error) {
	addr, perr := e.parseAddress()
	if perr != nil {
		return addr, perr
	}
	e.addr = addr
	perr = probe(addr)
	if perr == nil || perr.Code != protocol.CodePortInUse || perr.SuggestedAddress == "" {
		return addr, perr
	}
	switch e.settings.OnPortConflict {
	case protocol.PortConflictNextFree:
		next, _ := portcheck.Parse(perr.SuggestedAddress)
		e.addrOverride = next.String()
		e.n.ShowMessage(protocol.MessageInfo, fmt.Sprintf("%s Starting on port %d instead.", strings.TrimSuffix(perr.Message, " "+useOrStop(perr)), next.Port))
		return next, nil
	case protocol.PortConflictAsk:
		e.ask(perr)
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
		return addr, &protocol.Error{Code: protocol.CodeInvalidAddress, Message: capitalize(err.Error()) + ". Fix djangoRunserver.address."}
	}
	return addr, nil
}

// probe explains why addr cannot be bound, or returns nil.
func probe(addr portcheck.Address) *protocol.Error {
	err := portcheck.Probe(addr)
	var be *portcheck.BindError
	if err == nil || !errors.As(err, &be) || be.Code == "" {
		return nil // free, or an error only Django can judge
	}
	perr := &protocol.Error{Code: be.Code, Port: addr.Port}
	switch be.Code {
	case protocol.CodePortInUse:
		perr.Holder = portcheck.Holder(addr.Port)
		if next, ok := portcheck.NextFree(addr); ok {
			perr.SuggestedAddress = next.String()
		}
		perr.Message = portInUseMessage(addr.Port, perr)
	default:
		perr.Message = bindMessage(be.Code, addr)
	}
	return perr
}

func portInUseMessage(port int, perr *protocol.Error) string {
	who := "another process"
	if h := perr.Holder; h != nil {
		who = fmt.Sprintf("PID %d", h.PID)
		if h.Command != "" {
			who += " (" + h.Command + ")"
		}
	}
	return fmt.Sprintf("Port %d is in use by %s. %s", port, who, useOrStop(perr))
}

func useOrStop(perr *protocol.Error) string {
	if a, err := portcheck.Parse(perr.SuggestedAddress); err == nil {
		return fmt.Sprintf("Use port %d, or stop that process.", a.Port)
	}
	return "Stop that process, or set djangoRunserver.address to another port."
}

func bindMessage(code protocol.ErrorCode, addr portcheck.Address) string {
	switch code {
	case protocol.CodePortInUse:
		return fmt.Sprintf("Port %d is in use by another process. Stop that process, or set djangoRunserver.address to another port.", addr.Port)
	case protocol.CodePermissionDenied:
		return fmt.Sprintf("You don't have permission to listen on port %d: ports below 1024 need administrator rights. Set djangoRunserver.address to a port such as 8000.", addr.Port)
	case protocol.CodeAddressUnavailable:
		return fmt.Sprintf("The address %s is not on this machine, so Django can't listen there. Set djangoRunserver.address to 127.0.0.1:%d, or to an address this machine has.", addr.Host, addr.Port)
	}
	return fmt.Sprintf("%s is not a valid runserver address: use %s. Fix djangoRunserver.address.", addr, portcheck.Forms)
}

// ask offers the suggested port; choosing it starts the server there.
func (e *Engine) ask(perr *protocol.Error) {
	suggested, _ := portcheck.Parse(perr.SuggestedAddress)
	action := fmt.Sprintf("Use port %d", suggested.Port)
	e.wg.Go(func() {
		if e.n.Ask(e.ctx, protocol.MessageError, perr.Message, action, "Cancel") == action {
			e.post(func() {
				if e.state == protocol.StateFailed && e.proc == nil {
					e.addrOverride = suggested.String()
					e.launch(protocol.StateStarting, &trigger{kind: protocol.TriggerCommand, at: time.Now()})
				}
			})
		}
	})
}

// awaitReady connects to the server until it accepts, then reports ready.
// With verify, the listener must also be proc's: on a first start, another
// program may take the port between our probe and Django's bind. Reloads
// skip the check (it costs milliseconds); the port was just ours.
func (e *Engine) awaitReady(proc *supervisor.Process, verify bool) {
	dial, port := e.addr.Dial(), e.addr.Port
	e.wg.Go(func() {
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-proc.Done():
				return
			case <-t.C:
			}
			if c, err := net.DialTimeout("tcp", dial, time.Second); err == nil {
				c.Close()
				if h := portcheck.Holder(port); !verify || h == nil || proc.Owns(h.PID) {
					e.post(func() { e.becameReady(proc) })
					return
				}
			}
			t.Reset(readyPoll)
		}
	})
}

func (e *Engine) becameReady(proc *supervisor.Process) {
	if proc != e.proc || e.ready {
		return
	}
	e.ready = true
	e.startTimer.Stop()
	if e.state == protocol.StateReloading && e.trigger != nil {
		e.reloads++
		ms := float64(time.Since(e.trigger.at).Microseconds()) / 1000
		e.lastReloadMs = &ms
	}
	e.err = nil
	e.clearDiagnostics()
	if e.addr.Wildcard() {
		e.warnWildcard()
	}
	e.setState(protocol.StateRunning)
	msg := fmt.Sprintf("%s running at %s (pid %d)", e.name(), e.addr.URL(), proc.PID())
	if e.reloads > 0 && e.lastReloadMs != nil {
		msg += fmt.Sprintf(", reloaded in %.0f ms", *e.lastReloadMs)
	}
	e.n.LogMessage(protocol.MessageInfo, msg)
	if e.settings.Reload == protocol.ReloadFast {
		_ = proc.Send("") // the shim's cue to list the watched files while idle
	}
	e.sendHeld()
}

// timedOut fails a server that never accepted a connection.
func (e *Engine) timedOut(proc *supervisor.Process) {
	if proc != e.proc || e.ready || e.afterExit != nil {
		return // ready, gone, or already being stopped or restarted
	}
	perr := &protocol.Error{Code: protocol.CodeStartupTimeout,
		Message: fmt.Sprintf("Django did not accept connections on %s within %g s, so it was stopped. Check its log for what it was doing, or raise djangoRunserver.startupTimeout.", e.addr, e.settings.StartupTimeout)}
	e.afterExit = func() {}
	e.fail(perr)
	e.stopProc()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return truncate(line, 200)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return truncate(s[strings.LastIndex(s, "\n")+1:], 200)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
