package engine

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/watch"
)

// StormQuiet is how long a stream of changes must pause before the changes
// held during a reload are applied. A single change, or the first of a
// storm, goes to the server at once and pays no delay; only changes that
// keep arriving while a reload runs wait for the pause, and are then
// applied together in one more restart. So a formatter or a code generator
// writing every few milliseconds, or a checkout, costs two restarts
// instead of one per write. It bridges the gaps between a tool's writes,
// and it is short beside the reload it follows.
const StormQuiet = 150 * time.Millisecond

// stamp is what a file looked like when its path was last sent.
type stamp struct {
	mod  time.Time
	size int64
}

// maxStamps bounds the memory of sent stamps.
const maxStamps = 4096

// changed routes changed files. In fast mode a live process gets them on
// stdin and Django decides; a failed server retries; other modes and states
// need nothing.
func (e *Engine) changed(paths []string, kind protocol.TriggerKind, at time.Time) {
	if e.settings.Reload != protocol.ReloadFast {
		return
	}
	switch e.state {
	case protocol.StateStopped, protocol.StateStopping:
		return
	}
	var ts []trigger
	for _, p := range paths {
		if fileuri.Inside(e.folder, p) {
			ts = append(ts, trigger{kind: kind, path: p, at: at})
		}
	}
	if len(ts) == 0 {
		return
	}
	switch {
	case e.serving() && e.quietTimer == nil:
		e.send(ts)
	case e.run != nil:
		// A reload runs, or the stream that met one goes on. The new process
		// may already have read these files: hold them until the stream is
		// quiet and the process serves, so Django judges them against what it
		// loaded, all at once.
		e.hold(ts)
	case e.state == protocol.StateFailed && e.err != nil && e.err.Code == protocol.CodeFolderGone:
		// The folder is gone: only a start tries again.
	case e.state == protocol.StateFailed && e.retries(ts) && e.quietTimer != nil:
		// A storm goes on (a reload failed on a file caught mid-write, for
		// example): retry once it is quiet.
		e.hold(ts)
	case e.state == protocol.StateFailed && e.retries(ts):
		stopTimer(&e.retryTimer)
		e.launch(evReload, &ts[0])
	}
}

// retries reports whether changes should retry a failed server: any save,
// or a watched change to Python code or the settings' files. Other files
// (logs, databases) would make a failing server retry in a loop.
func (e *Engine) retries(ts []trigger) bool {
	for _, t := range ts {
		if t.kind == protocol.TriggerSave || strings.HasSuffix(t.path, ".py") ||
			e.settings.EnvFile != "" && sameFile(t.path, filepath.Join(e.folder, e.settings.EnvFile)) {
			return true
		}
	}
	return false
}

// hold keeps changes until the stream of changes is quiet.
func (e *Engine) hold(ts []trigger) {
	e.held = append(e.held, ts...)
	e.lastChange = e.clock.Now()
	if e.quietTimer == nil {
		e.armQuiet(StormQuiet)
	}
}

// armQuiet checks in d whether the stream has gone quiet.
func (e *Engine) armQuiet(d time.Duration) {
	var t Timer
	t = e.clock.AfterFunc(d, func() {
		e.post(func() {
			if e.quietTimer == t {
				e.quietTimer = nil
				e.quietElapsed()
			}
		})
	})
	e.quietTimer = t
}

// quietElapsed applies the held changes once no change has come for
// StormQuiet: it sends them if the process serves (otherwise becameReady
// does), or retries a server that failed during the storm.
func (e *Engine) quietElapsed() {
	if rest := StormQuiet - e.clock.Now().Sub(e.lastChange); rest > 0 {
		e.armQuiet(rest)
		return
	}
	switch {
	case e.serving():
		e.sendHeld()
	case e.run == nil && e.check == nil && e.state == protocol.StateFailed && len(e.held) > 0 && e.retries(e.held):
		t := e.held[len(e.held)-1]
		stopTimer(&e.retryTimer)
		e.launch(evReload, &t)
	}
}

// send writes changed paths to the serving process, for Django to judge.
func (e *Engine) send(ts []trigger) {
	if e.debugHolds(ts) {
		return
	}
	r := e.run
	for _, t := range ts {
		if !e.stampSent(t.path) {
			continue
		}
		if strings.ContainsAny(t.path, "\r\n") {
			continue // not expressible on the line protocol; Django can't import such a file anyway
		}
		if err := r.proc.Send(t.path); err != nil {
			return // the process is exiting; its successor reads the files afresh
		}
		r.inflight[t.path] = t
	}
}

func (e *Engine) sendHeld() {
	held := e.held
	e.held = nil
	if len(held) > 0 {
		e.send(held)
	}
}

// stampSent records path's file state as sent to a process, and reports
// whether it differs from the one sent before: a save is usually seen
// twice, by didSave and by the watcher.
func (e *Engine) stampSent(path string) (changed bool) {
	st := stamp{}
	if info, err := os.Stat(path); err == nil {
		st = stamp{mod: info.ModTime(), size: info.Size()}
	}
	if e.sent == nil || len(e.sent) >= maxStamps {
		e.sent = map[string]stamp{}
	}
	if old, ok := e.sent[path]; ok && old == st && !st.mod.IsZero() {
		return false
	}
	e.sent[path] = st
	return true
}

// ensureWatcher watches the folder while a fast-mode server is active.
func (e *Engine) ensureWatcher() {
	if e.watcher != nil || e.settings.Reload != protocol.ReloadFast {
		return
	}
	w, err := watch.New(e.folder, watch.Options{
		Skip:    config.SkipDir,
		Exclude: e.settings.WatchExclude,
		OnBatch: func(b watch.Batch) { e.Changed(b.Paths, protocol.TriggerWatch, b.First) },
		OnWarning: func(msg string) {
			e.n.ShowMessage(Message{Type: protocol.MessageWarning, Text: msg})
			e.log(protocol.MessageWarning, e.name()+" "+msg)
		},
		OnRootGone:   func() { e.post(e.folderGone) },
		Mode:         watch.Mode(e.settings.Watch),
		PollInterval: time.Duration(e.settings.PollInterval * float64(time.Second)),
	})
	if err != nil {
		e.log(protocol.MessageWarning, e.name()+" "+capitalize(err.Error())+". Files are not watched; saves the editor reports still reload the server.")
		return
	}
	e.watcher = w
	e.log(protocol.MessageInfo, e.name()+" "+w.Why())
}

func (e *Engine) closeWatcher() {
	if w := e.watcher; w != nil {
		e.watcher = nil
		// Closing waits for the watcher's goroutines, which may be posting to
		// this loop; close it elsewhere.
		e.wg.Go(w.Close)
	}
}

// folderGone stops a server whose folder was deleted or renamed.
func (e *Engine) folderGone() {
	if e.state == protocol.StateStopped || e.state == protocol.StateStopping {
		return // a stop is under way: it finishes when the process exits
	}
	if _, err := os.Stat(e.folder); err == nil {
		return
	}
	stopTimer(&e.retryTimer)
	stopTimer(&e.quietTimer)
	e.held = nil
	e.closeWatcher()
	e.closePreload()
	perr := &protocol.Error{Code: protocol.CodeFolderGone,
		Message: "The folder " + e.folder + " was deleted or renamed while the server ran, so the server was stopped. Reopen the folder, then start the server."}
	if e.run != nil {
		e.run.pending = pendingDiscard
		e.stopProc()
	}
	e.fail(perr)
}
