package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/preload"
	"github.com/django-runserver/django-runserver/server/reloader"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// preloadLauncher is a Launcher that can also start preloaders: the real
// one. With a launcher that can't, every process starts cold.
type preloadLauncher interface {
	StartPreloader(preload.Spec) (*preload.Preloader, error)
}

func (systemLauncher) StartPreloader(s preload.Spec) (*preload.Preloader, error) {
	return preload.Start(s)
}

// warmth is the engine's preloader, and how its latest process started.
// Owned by the loop.
type warmth struct {
	pre    *preload.Preloader // nil when none
	preKey string             // the process key pre was built for
	missed string             // why there is no preloader to fork from, when known

	dir    string // private folder of the shim's module list; "" until needed
	script string // the preloader script, once written

	plan       plan   // of the latest process
	key        string // of the latest process: what a preloader for it must match
	start      protocol.StartKind
	coldReason string
}

// preloading reports whether reloads fork from a preloader under the
// settings, on this platform. Only the fast mode's single process can be
// forked; macOS's system libraries are known to crash in forked children,
// so there it waits for "on".
func (e *Engine) preloading() bool {
	s := e.settings
	if s.Reload != protocol.ReloadFast || s.Preload == protocol.PreloadOff {
		return false
	}
	if e.dbg.on {
		return false // a debugged process starts under debug.py, in a fresh interpreter
	}
	if _, ok := e.launcher.(preloadLauncher); !ok {
		return false
	}
	switch runtime.GOOS {
	case "linux":
		return true
	case "windows":
		return false // no fork
	default:
		return s.Preload == protocol.PreloadOn
	}
}

// processKey is what shapes a server process from outside: a preloader
// built under one key is never used under another.
func (e *Engine) processKey(p plan) string {
	s := e.settings
	parts := []string{p.python, p.dir, e.managePy, e.folder}
	parts = append(parts, p.env...)
	parts = append(parts, "\x01")
	parts = append(parts, s.Args...)
	return strings.Join(parts, "\x00")
}

// serverEnv is p's environment, plus where the shim lists its modules when
// a preloader will want them.
func (e *Engine) serverEnv(p plan) []string {
	if !e.preloading() {
		return p.env
	}
	if e.warm.dir == "" {
		dir, err := os.MkdirTemp("", "django-runserver-modules-")
		if err != nil {
			e.warm.missed = "no folder for the list of modules to preload: " + err.Error()
			return p.env
		}
		e.warm.dir = dir
	}
	list := filepath.Join(e.warm.dir, "modules")
	os.Remove(list) // a new preloader waits for this process's list
	return append(append([]string(nil), p.env...), preload.ModulesEnv+"="+list)
}

// startServer starts a server process: forked from the preloader on a
// reload when it may be, else cold through the launcher. It records which,
// and why cold.
func (e *Engine) startServer(p plan, state protocol.State, spec supervisor.Spec) (Process, error) {
	w := &e.warm
	w.plan, w.key, w.start, w.coldReason = p, e.processKey(p), "", ""
	if !e.preloading() {
		e.dropPreloader()
		return e.launcher.Start(spec)
	}
	w.start = protocol.StartCold
	if state == protocol.StateReloading {
		proc, why := e.fork(spec)
		if proc != nil {
			w.start = protocol.StartWarm
			return proc, nil
		}
		w.coldReason = why
	}
	return e.launcher.Start(spec)
}

// fork forks spec's process from the preloader, or says why it can't.
func (e *Engine) fork(spec supervisor.Spec) (Process, string) {
	w := &e.warm
	switch {
	case w.pre == nil && w.missed != "":
		return nil, w.missed
	case w.pre == nil:
		return nil, "no preloader was ready yet"
	case w.preKey != w.key:
		e.dropPreloader()
		return nil, "the interpreter, environment or arguments changed since the preloader started"
	}
	proc, err := w.pre.Fork(spec)
	if err != nil {
		if !errors.Is(err, preload.ErrLoading) {
			e.dropPreloader()
		}
		return nil, err.Error()
	}
	return &systemProcess{proc}, ""
}

// preload makes sure a preloader for the serving process is on its way.
// It is built once the server serves, from the modules it imported, so
// that its imports never compete with a start.
func (e *Engine) preload() {
	w := &e.warm
	if !e.preloading() {
		e.dropPreloader()
		return
	}
	if w.pre != nil && w.preKey == w.key {
		select {
		case <-w.pre.Done():
		default:
			return // still good: it checks its files before each fork
		}
	}
	e.dropPreloader()
	pl := e.launcher.(preloadLauncher)
	if w.script == "" {
		var err error
		if w.script, err = reloader.WritePreloader(); err != nil {
			w.missed = err.Error()
			return
		}
	}
	p := w.plan
	list := filepath.Join(w.dir, "modules")
	pre, err := pl.StartPreloader(preload.Spec{
		// Its children list their modules too: a later preloader needs a list.
		Python: p.python, Dir: p.dir, Env: append(append([]string(nil), p.env...), preload.ModulesEnv+"="+list),
		Script: w.script, Shim: e.shim, ManagePy: e.managePy, Workspace: e.folder,
		Modules: list,
	})
	if err != nil {
		w.missed = err.Error()
		return
	}
	w.pre, w.preKey, w.missed = pre, w.key, ""
	began := e.clock.Now()
	e.wg.Go(func() {
		<-pre.Ready() // closes on failure too: the preloader's end ends the wait
		e.post(func() {
			if e.warm.pre == pre {
				e.preloaded(pre, e.clock.Now().Sub(began))
			}
		})
	})
}

// preloaded reports a preloader that is ready, or can't be used.
func (e *Engine) preloaded(pre *preload.Preloader, took time.Duration) {
	if err := pre.Err(); err != nil {
		e.log(protocol.MessageWarning, fmt.Sprintf("%s cannot preload: %v; reloads start cold until it changes", e.name(), err))
		return
	}
	e.log(protocol.MessageInfo, fmt.Sprintf("%s preloaded %d modules in %.0f ms (pid %d): Python reloads start warm",
		e.name(), pre.Imported(), float64(took.Microseconds())/1000, pre.PID()))
}

// dropPreloader retires the preloader: it takes no more forks, and exits
// once the server it forked has.
func (e *Engine) dropPreloader() {
	if e.warm.pre != nil {
		e.warm.pre.Retire()
		e.warm.pre = nil
	}
}

// closePreload ends preloading for good: no server runs any more.
func (e *Engine) closePreload() {
	if pre := e.warm.pre; pre != nil {
		e.warm.pre = nil
		e.wg.Go(pre.Kill)
	}
	if e.warm.dir != "" {
		os.RemoveAll(e.warm.dir)
		e.warm.dir = ""
	}
}

// startNote says how a reload started, for the line that reports it.
func (e *Engine) startNote() string {
	switch {
	case e.warm.start == "":
		return ""
	case e.warm.coldReason != "":
		return " (cold: " + e.warm.coldReason + ")"
	default:
		return " (" + string(e.warm.start) + ")"
	}
}
