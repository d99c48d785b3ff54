package engine

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/watch"
)

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
		if e.inside(p) {
			ts = append(ts, trigger{kind: kind, path: p, at: at})
		}
	}
	if len(ts) == 0 {
		return
	}
	switch {
	case e.proc != nil && e.ready:
		e.send(ts)
	case e.proc != nil:
		// Starting: the new process may already have read these files. Send
		// them once it serves, so Django judges them against what it loaded.
		e.held = append(e.held, ts...)
	case e.state == protocol.StateFailed && e.err != nil && e.err.Code == protocol.CodeFolderGone:
		// The folder is gone: only a start tries again.
	case e.state == protocol.StateFailed && e.retries(ts):
		e.stopTimers()
		e.launch(protocol.StateReloading, &ts[0])
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

func (e *Engine) send(ts []trigger) {
	for _, t := range ts {
		if !e.fresh(t.path) {
			continue
		}
		if strings.ContainsAny(t.path, "\r\n") {
			continue // not expressible on the line protocol; Django can't import such a file anyway
		}
		if err := e.proc.Send(t.path); err != nil {
			return // the process is exiting; its successor reads the files afresh
		}
		e.inflight[t.path] = t
	}
}

func (e *Engine) sendHeld() {
	held := e.held
	e.held = nil
	if len(held) > 0 {
		e.send(held)
	}
}

// fresh reports whether path changed since it was last sent: a save is
// usually seen twice, by didSave and by the watcher.
func (e *Engine) fresh(path string) bool {
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

func (e *Engine) inside(path string) bool {
	rel, err := filepath.Rel(e.folder, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
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
			e.n.ShowMessage(protocol.MessageWarning, msg)
			e.n.LogMessage(protocol.MessageWarning, e.name()+" "+msg)
		},
		OnRootGone:   func() { e.post(e.folderGone) },
		Mode:         watch.Mode(e.settings.Watch),
		PollInterval: time.Duration(e.settings.PollInterval * float64(time.Second)),
	})
	if err != nil {
		e.n.LogMessage(protocol.MessageWarning, e.name()+" "+capitalize(err.Error())+". Saves in the editor still reload the server.")
		return
	}
	e.watcher = w
	e.n.LogMessage(protocol.MessageInfo, e.name()+" "+w.Why())
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
		return // a stop is under way: its afterExit must run
	}
	if _, err := os.Stat(e.folder); err == nil {
		return
	}
	e.stopTimers()
	e.closeWatcher()
	perr := &protocol.Error{Code: protocol.CodeFolderGone,
		Message: "The folder " + e.folder + " was deleted or renamed while the server ran, so the server was stopped. Reopen the folder, then start the server."}
	if e.proc != nil {
		e.afterExit = func() {}
		e.stopProc()
	}
	e.fail(perr)
}
