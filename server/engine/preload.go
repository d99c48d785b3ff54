package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/preload"
	"github.com/django-runserver/django-runserver/server/reloader"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// The two levels of preloader, deepest last: a fork comes from the deepest
// one that is still valid.
const (
	levelModules = iota // Django and third-party modules imported
	levelSetup          // ... and Django set up: settings, apps, models
	levels
)

// warmth is the engine's preloaders, and how its latest process started.
// Owned by the loop.
type warmth struct {
	pre    [levels]Preloader // nil when none
	preKey [levels]string    // the process key each was built for
	missed string            // why there is no preloader to fork from, when known
	// noSetup is why a preloader of the second level is not built for the
	// process key setupKey: it would be unsafe to fork.
	noSetup, setupKey string

	dir string // private folder of the shim's module lists; "" until needed
	// list is where the latest process lists its modules, one file per
	// process: a preloader waits for the list of the process it was built
	// for, which the next process's start must not delete. lists counts
	// them; prevList is the one before, removed at the next start.
	list, prevList string
	lists          int
	script         string // the preloader script, once written

	plan       plan   // of the latest process
	key        string // of the latest process: what a preloader for it must match
	start      protocol.StartKind
	coldReason string
	setUpAhead bool // forked from levelSetup
}

// preloading reports whether reloads fork from a preloader under the
// settings, on this platform.
func (e *Engine) preloading() bool {
	return e.settings.Reload == protocol.ReloadFast && e.noPreload() == ""
}

// noPreload says why a fast reload can't fork from a preloader, or is "".
// Only the fast mode's single process can be forked; macOS's system
// libraries are known to crash in forked children, so there it waits for
// "on".
func (e *Engine) noPreload() string {
	switch {
	case e.settings.Preload == protocol.PreloadOff:
		return "preloading is off"
	}
	if e.preloaders == nil {
		return "this engine was given no preloaders"
	}
	switch runtime.GOOS {
	case "linux":
		return ""
	case "windows":
		return "Windows has no fork"
	default:
		if e.settings.Preload == protocol.PreloadOn {
			return ""
		}
		return "preloading is on for macOS only when set to on"
	}
}

// processKey is what shapes a server process from outside: a preloader
// built under one key is never used under another.
func (e *Engine) processKey(p plan) string {
	s := e.settings
	// Under the debugger the preloader runs with the bootstrap's
	// interpreter options, and has imported debugpy.
	parts := []string{p.python, p.dir, e.managePy, e.folder, strconv.FormatBool(e.dbg.on)}
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
		dir, err := preload.ListDir()
		if err != nil {
			e.warm.missed = "no folder for the list of modules to preload: " + err.Error()
			return p.env
		}
		e.warm.dir = dir
	}
	w := &e.warm
	if w.prevList != "" {
		os.Remove(w.prevList) // no preloader waits for it: the one after is listed or serving
	}
	w.lists++
	w.prevList, w.list = w.list, filepath.Join(w.dir, fmt.Sprintf("modules-%d", w.lists))
	return append(append([]string(nil), p.env...), contract.ModulesEnv+"="+w.list)
}

// startServer starts a server process: forked from a preloader on a
// reload when it may be, else cold through the launcher. It records which,
// and why cold.
func (e *Engine) startServer(p plan, ev event, spec supervisor.Spec) (Process, error) {
	w := &e.warm
	w.plan, w.key, w.start, w.coldReason, w.setUpAhead = p, e.processKey(p), "", "", false
	if e.settings.Reload != protocol.ReloadFast {
		e.dropPreloaders()
		return e.launcher.Start(spec) // not ours to start: Django's reloader, or none
	}
	w.start = protocol.StartCold
	if why := e.noPreload(); why != "" {
		e.dropPreloaders()
		if ev == evReload {
			w.coldReason = why
		}
		return e.launcher.Start(spec)
	}
	if ev == evReload {
		// From Django set up if nothing it read changed, else from the
		// modules alone; the cold reason is the shallower level's.
		proc, _ := e.fork(levelSetup, spec)
		w.setUpAhead = proc != nil
		why := ""
		if proc == nil {
			proc, why = e.fork(levelModules, spec)
		}
		if proc != nil {
			w.start = protocol.StartWarm
			return proc, nil
		}
		w.coldReason = why
	}
	return e.launcher.Start(spec)
}

// fork forks spec's process from the preloader of level l, or says why it
// can't.
func (e *Engine) fork(l int, spec supervisor.Spec) (Process, string) {
	w := &e.warm
	pre := w.pre[l]
	switch {
	case pre == nil && w.missed != "":
		return nil, w.missed
	case pre == nil:
		return nil, "no preloader was ready yet"
	case w.preKey[l] != w.key:
		e.dropPreloader(l)
		return nil, "the interpreter, environment or arguments changed since the preloader started"
	}
	proc, err := pre.Fork(spec)
	if err != nil {
		if !errors.Is(err, preload.ErrLoading) {
			e.dropPreloader(l)
		}
		return nil, err.Error()
	}
	return proc, ""
}

// preload makes sure the preloaders for the serving process are on their
// way. They are built once the server serves, from the modules it
// imported, so that their imports never compete with a start; the second
// level once the first is ready, so that they don't compete either.
func (e *Engine) preload() {
	w := &e.warm
	if !e.preloading() {
		e.dropPreloaders()
		return
	}
	if w.script == "" {
		var err error
		if w.script, err = reloader.WritePreloader(); err != nil {
			w.missed = err.Error()
			return
		}
	}
	switch {
	case !e.preloaded(levelModules):
		e.dropPreloaders()
		e.startPreloader(levelModules)
	case e.usable(levelModules):
		e.startSetup()
	} // else the first level still imports: preloaderReady builds the second
}

// usable reports whether the preloader of level l is ready to fork for
// the serving process.
func (e *Engine) usable(l int) bool {
	pre := e.warm.pre[l]
	if !e.preloaded(l) {
		return false
	}
	select {
	case <-pre.Ready():
		return pre.Err() == nil
	default:
		return false
	}
}

// preloaded reports whether the preloader of level l is built, or being
// built, for the serving process. (One that is stale says so at its next
// fork, and is dropped then.)
func (e *Engine) preloaded(l int) bool {
	w := &e.warm
	pre := w.pre[l]
	if pre == nil || w.preKey[l] != w.key {
		return false
	}
	select {
	case <-pre.Done():
		return false
	default:
		return true
	}
}

// startSetup starts the second level's preloader, unless one is built or
// being built for the serving process (replacing it would leave the next
// reload nothing but the first level to fork from), or it is known to be
// unsafe under that process's key.
func (e *Engine) startSetup() {
	w := &e.warm
	if e.preloaded(levelSetup) || w.noSetup != "" && w.setupKey == w.key {
		return
	}
	w.noSetup = ""
	e.dropPreloader(levelSetup)
	e.startPreloader(levelSetup)
}

// startPreloader starts the preloader of level l for the serving process.
func (e *Engine) startPreloader(l int) {
	w := &e.warm
	p := w.plan
	list := w.list
	pre, err := e.preloaders.Start(preload.Spec{
		// Its children list their modules too: a later preloader needs a list.
		Python: p.python, Dir: p.dir, Env: append(append([]string(nil), p.env...), contract.ModulesEnv+"="+list),
		Options: e.debugOptions(),
		Script:  w.script, Shim: e.shim, ManagePy: e.managePy, Workspace: e.folder,
		Modules: list, Setup: l == levelSetup, Debug: e.dbg.on,
	})
	if err != nil {
		w.missed = err.Error()
		return
	}
	w.pre[l], w.preKey[l], w.missed = pre, w.key, ""
	began, key := e.clock.Now(), w.key
	e.wg.Go(func() {
		<-pre.Ready() // closes on failure too: the preloader's end ends the wait
		e.post(func() {
			if e.warm.pre[l] == pre {
				e.preloaderReady(l, pre, key, e.clock.Now().Sub(began))
			}
		})
	})
}

// preloaderReady reports a preloader that is ready, or can't be used, and builds
// the next level once the first is ready.
func (e *Engine) preloaderReady(l int, pre Preloader, key string, took time.Duration) {
	w := &e.warm
	ms := float64(took.Microseconds()) / 1000
	err := pre.Err()
	switch {
	case l == levelModules && err != nil:
		e.log(protocol.MessageWarning, withAdvice(fmt.Sprintf("%s cannot preload: %v; reloads start cold until it changes.", e.name(), err), pre.Advice()))
	case l == levelModules:
		e.log(protocol.MessageInfo, fmt.Sprintf("%s preloaded %d modules in %.0f ms (pid %d): Python reloads start warm",
			e.name(), pre.Imported(), ms, pre.PID()))
		if e.serving() && w.key == key {
			e.startSetup()
		}
	case err != nil:
		e.dropPreloader(levelSetup)
		if !strings.Contains(err.Error(), "set-up failed") {
			w.noSetup, w.setupKey = err.Error(), key // a set-up that failed may not fail next time
		}
		e.log(protocol.MessageInfo, withAdvice(fmt.Sprintf("%s cannot set Django up ahead of a reload: %v; reloads still fork from the preloaded modules, and set Django up themselves.",
			e.name(), err), pre.Advice()))
	default:
		e.log(protocol.MessageInfo, fmt.Sprintf("%s set Django up ahead: preloaded %d modules in %.0f ms (pid %d): reloads that change no settings, model or app skip Django's set-up",
			e.name(), pre.Imported(), ms, pre.PID()))
	}
}

// withAdvice is line, then what the user can change, if anything.
func withAdvice(line, advice string) string {
	if advice == "" {
		return line
	}
	return line + " " + advice
}

// dropPreloader retires the preloader of level l: it takes no more forks,
// and exits once the server it forked has.
func (e *Engine) dropPreloader(l int) {
	if pre := e.warm.pre[l]; pre != nil {
		pre.Retire()
		e.warm.pre[l] = nil
	}
}

func (e *Engine) dropPreloaders() {
	for l := range levels {
		e.dropPreloader(l)
	}
}

// closePreload ends preloading for good: no server runs any more.
func (e *Engine) closePreload() {
	for l, pre := range e.warm.pre {
		if pre != nil {
			e.warm.pre[l] = nil
			e.wg.Go(pre.Kill)
		}
	}
	if e.warm.dir != "" {
		os.RemoveAll(e.warm.dir)
		e.warm.dir, e.warm.list, e.warm.prevList = "", "", ""
	}
}

// startNote says how a reload started, for the line that reports it.
func (e *Engine) startNote() string {
	switch {
	case e.warm.start == "":
		return ""
	case e.warm.coldReason != "":
		return " (cold: " + e.warm.coldReason + ")"
	case e.warm.setUpAhead:
		return " (" + string(e.warm.start) + ", Django set up ahead)"
	default:
		return " (" + string(e.warm.start) + ")"
	}
}
