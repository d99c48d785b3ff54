package engine

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/text"
	"github.com/django-runserver/django-runserver/server/parse"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// exited handles the end of a process: a stop or restart we asked for, a
// kill after a reported failure, a reload Django asked for, or a failure to
// explain. The run ends here.
func (e *Engine) exited(r *run) {
	if r != e.run {
		return
	}
	e.collectSentSocket(r)
	stopTimer(&r.startTimer)
	e.debugExited(r)
	out := r.out.result()
	e.run = nil
	switch r.pending {
	case pendingStop:
		e.finishStop()
		return
	case pendingRestart:
		e.launch(r.restartEvent, r.restartTrigger)
		return
	case pendingDiscard:
		e.serveFailure()
		e.notify() // still failed, now without a process
		return
	}
	code := r.proc.ExitCode()
	switch {
	case code == contract.ExitReload && e.settings.Reload == protocol.ReloadFast:
		e.launch(evReload, e.reloadTrigger(r.inflight, out.reloadPath))
	case !r.ready || out.bind != "":
		e.fail(e.explain(out, code))
	default:
		e.crashed(code, out)
	}
}

// reloadTrigger finds the change that made Django reload: the path of its
// "changed, reloading." line, else the latest path sent.
func (e *Engine) reloadTrigger(inflight map[string]trigger, path string) *trigger {
	var latest *trigger
	for p, t := range inflight {
		if sameFile(p, path) {
			return &t
		}
		if latest == nil || t.at.After(latest.at) {
			latest = &t
		}
	}
	if latest == nil {
		return &trigger{kind: protocol.TriggerWatch, path: path, at: e.clock.Now()}
	}
	return latest
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

// explain turns the exit of a server that never became ready into an error.
func (e *Engine) explain(out result, code int) *protocol.Error {
	if out.bind != "" {
		return portcheck.FromDjango(e.prober, out.bind, e.addr)
	}
	if code == contract.ExitNoDebugpy && e.dbg.on {
		return e.noDebugpy()
	}
	if tb := out.traceback; tb != nil {
		if tb.ShortException() == "ModuleNotFoundError" && strings.Contains(tb.Message, "'django'") ||
			strings.Contains(out.tail, "Couldn't import Django") {
			return &protocol.Error{Code: protocol.CodeDjangoNotFound, Setting: "python",
				Message: "manage.py could not import Django. Install Django in the project's environment, or choose an interpreter that has it."}
		}
		return e.tracebackError(tb)
	}
	status := exitStatus(code)
	perr := &protocol.Error{Code: protocol.CodeCrashed, ExitCode: &code,
		Message: fmt.Sprintf("Django %s before it accepted connections. See the server log for its output; the next change or start retries.", status)}
	if last := text.LastLine(out.tail, maxQuoted); last != "" {
		perr.Message = fmt.Sprintf("Django %s before it accepted connections: %s. See the server log; the next change or start retries.", status, strings.TrimSuffix(last, "."))
	}
	return perr
}

func (e *Engine) tracebackError(tb *parse.Traceback) *protocol.Error {
	perr := &protocol.Error{Code: protocol.CodeStartupFailed, Exception: tb.ShortException()}
	e.frames = tb.InWorkspace(e.folder)
	where := ""
	if f, ok := tb.Locate(e.folder); ok {
		perr.File, perr.Line = f.File, f.Line
		where = fmt.Sprintf(" (%s:%d)", e.rel(f.File), f.Line)
	}
	perr.Message = fmt.Sprintf("%s%s. Fix it and save: the server retries by itself.", text.Truncate(tb.Summary(), 500), where)
	return perr
}

// rel is path relative to the folder, when it lies inside.
func (e *Engine) rel(path string) string {
	if fileuri.Inside(e.folder, path) {
		if r, err := filepath.Rel(e.folder, path); err == nil {
			return filepath.ToSlash(r)
		}
	}
	return path
}

func exitStatus(code int) string {
	if code < 0 {
		return "was killed by a signal"
	}
	return fmt.Sprintf("exited with status %d", code)
}

// crashed handles a server that ended on its own while running: restart it
// after a growing pause, at most crashLimit times in crashWindow.
func (e *Engine) crashed(code int, out result) {
	now := e.clock.Now()
	recent := e.crashes[:0]
	for _, t := range e.crashes {
		if now.Sub(t) < crashWindow {
			recent = append(recent, t)
		}
	}
	e.crashes = append(recent, now)
	n := len(e.crashes)
	perr := &protocol.Error{Code: protocol.CodeCrashed, ExitCode: &code}
	what := fmt.Sprintf("Django %s while running", exitStatus(code))
	// A traceback explains the exit only if it is the last thing printed: a
	// request's traceback from long before says nothing about it.
	if tb := out.traceback; tb != nil && strings.HasPrefix(text.LastLine(out.tail, maxQuoted), tb.Exception) {
		perr.Exception = tb.ShortException()
		what += ": " + text.Truncate(strings.TrimSuffix(tb.Summary(), "."), 300)
	}
	if n > crashLimit {
		perr.Message = fmt.Sprintf("%s (%d times within a minute), so it is not restarted again. See the server log; the next change or start retries.", what, n)
		e.fail(perr)
		return
	}
	delay := crashBackoff << (n - 1)
	perr.Message = fmt.Sprintf("%s. Restarting in %s (attempt %d of %d this minute); see the server log for why.", what, delay, n, crashLimit)
	e.fail(perr)
	e.retryTimer = e.clock.AfterFunc(delay, func() {
		e.post(func() {
			if e.state == protocol.StateFailed && e.run == nil && e.err == perr {
				e.retryTimer = nil
				e.launch(evReload, e.now(protocol.TriggerCrash))
			}
		})
	})
}

// fail enters the failed state with a reason, and shows it.
func (e *Engine) fail(perr *protocol.Error) {
	e.endCheck()
	e.err = perr
	e.clearDiagnostics()
	e.publishError(perr)
	e.transition(evFail)
	e.serveFailure() // first: the page answers once the status says failed
	e.notify()
	e.n.LogMessage(Message{Type: protocol.MessageError, Text: e.name() + " " + perr.Message, Setting: perr.Setting})
}

// djangoReloading: Django's own reloader saw a change and restarts its child.
func (e *Engine) djangoReloading(r *run, path string) {
	if r != e.run || e.state == protocol.StateStopping {
		return
	}
	r.ready = false
	stopTimer(&r.startTimer)
	r.out.resetForReload()
	e.trigger = &trigger{kind: protocol.TriggerWatch, path: path, at: e.clock.Now()}
	e.transition(evReload)
	e.notify()
}

// djangoChildStarted: a new child of Django's reloader is up; it serves as
// soon as its checks pass.
func (e *Engine) djangoChildStarted(r *run) {
	if r != e.run || r.ready {
		return
	}
	e.awaitReady(r, e.state == protocol.StateStarting)
}

// djangoFailed: the child of Django's own reloader hit an exception before
// serving. It stays alive and retries when the file changes. A process
// being stopped or restarted has no failure to show: its exit decides.
func (e *Engine) djangoFailed(r *run, tb *parse.Traceback) {
	if r != e.run || r.ready || r.pending != pendingNone {
		return
	}
	stopTimer(&r.startTimer)
	e.fail(e.tracebackError(tb))
}
