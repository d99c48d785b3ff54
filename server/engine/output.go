package engine

import (
	"strings"
	"sync"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/parse"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// tailLines is how much of stderr is kept to explain an exit.
const tailLines = 20

// output is what one process printed that explains how it ends. It is
// written by the stderr reader and read by the loop once the process exits.
type output struct {
	mode protocol.ReloadMode

	mu         sync.Mutex
	tracebacks parse.TracebackParser
	bind       protocol.ErrorCode
	reloadPath string   // from Django's "… changed, reloading." line
	tail       []string // the last lines of stderr
}

func newOutput(mode protocol.ReloadMode) *output { return &output{mode: mode} }

// onLine streams the lines of r's process to the editor, and feeds the
// parsers.
func (e *Engine) onLine(r *run) func(stderr bool, line string) {
	return func(stderr bool, line string) {
		if stderr && e.consumed(r, line) {
			return // ours, written for the backend: not the project's output
		}
		if req, ok := parse.RequestLogged(line); ok && req.Status < 400 {
			e.post(func() { e.requestSucceeded(r, req.Path) })
		}
		stream := protocol.StreamStdout
		if stderr {
			stream = protocol.StreamStderr
		}
		e.n.Log(protocol.LogParams{Folder: e.uri, Stream: stream, Text: line})
		if stderr {
			if f := r.out.stderrLine(line); f != nil {
				e.post(func() { f(e, r) })
			}
		}
	}
}

// consumed takes a stderr line that our side of the process writes for the
// backend, and reports whether line was one: a page's click on a frame, the
// runserver that runs (fast mode), a request's exception, the debugger's
// words (under the debugger).
func (e *Engine) consumed(r *run, line string) bool {
	if r.out.mode == protocol.ReloadFast && (e.openLine(line) || e.runserverLine(r, line)) {
		return true
	}
	if re, ok := parse.RequestFailed(line); ok {
		if re != nil {
			e.post(func() { e.requestFailed(r, re) })
		}
		return true
	}
	return r.underDebugger && e.debugLine(r, line)
}

// stderrLine records a line of stderr. Under Django's own reloader it
// returns what the line tells the loop, or nil.
func (o *output) stderrLine(line string) func(*Engine, *run) {
	o.mu.Lock()
	if len(o.tail) == tailLines {
		o.tail = append(o.tail[:0], o.tail[1:]...)
	}
	o.tail = append(o.tail, line)
	if code, ok := portcheck.ClassifyLine(line); ok {
		o.bind = code
	}
	tb := o.tracebacks.Feed(line)
	path, reload := parse.ReloadTriggered(line)
	if reload {
		o.reloadPath = path
	}
	o.mu.Unlock()

	if o.mode != protocol.ReloadDjango {
		return nil
	}
	// Under Django's own reloader the process lives on through reloads and
	// failures, so its state comes from these lines.
	switch {
	case reload:
		return func(e *Engine, r *run) { e.djangoReloading(r, path) }
	case parse.ReloaderStarted(line):
		return (*Engine).djangoChildStarted
	case tb != nil:
		return func(e *Engine, r *run) { e.djangoFailed(r, tb) }
	}
	return nil
}

// result is what the output says about the process's end.
type result struct {
	bind       protocol.ErrorCode
	traceback  *parse.Traceback
	reloadPath string
	tail       string
}

func (o *output) result() result {
	o.mu.Lock()
	defer o.mu.Unlock()
	return result{bind: o.bind, traceback: o.tracebacks.Last(), reloadPath: o.reloadPath, tail: strings.Join(o.tail, "\n")}
}

// resetForReload forgets a failure that Django's own reloader is about to
// retry.
func (o *output) resetForReload() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tracebacks.Reset()
	o.bind = ""
	o.reloadPath = ""
}
