package watch

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is how long the watcher waits for quiet before it reports a
// batch: long enough to merge an editor's write-rename-chmod of one save
// (they come within a millisecond) or a git checkout's burst, short enough
// to add almost nothing to a reload.
const Debounce = 10 * time.Millisecond

// MaxDelay bounds how long a continuous stream of events can hold a batch.
const MaxDelay = time.Second

// Batch is a set of changed paths.
type Batch struct {
	Paths []string
	// First is when the first event of the batch arrived.
	First time.Time
}

func (w *Watcher) drain() {
	for {
		select {
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.handle(ev)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.warn("Too many file changes at once; some were merged. Save again if the server missed one.")
			}
		}
	}
}

func (w *Watcher) handle(ev fsnotify.Event) {
	if ev.Op == fsnotify.Chmod {
		return
	}
	if ev.Name == w.root && ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0 {
		w.rootGone()
		return
	}
	if ev.Op&fsnotify.Create != 0 {
		if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
			if w.skip(ev.Name, true) {
				return
			}
			for _, f := range w.addTree(ev.Name) {
				w.send(f)
			}
			return
		}
	}
	if w.skip(ev.Name, false) || w.skip(filepath.Dir(ev.Name), true) {
		return
	}
	w.send(ev.Name)
}

func (w *Watcher) send(path string) {
	select {
	case w.pending <- path:
	case <-w.stop:
	}
}

func (w *Watcher) batch() {
	var (
		paths    = map[string]bool{}
		first    time.Time
		quiet    = time.NewTimer(time.Hour)
		deadline <-chan time.Time
		debounce = cmp.Or(w.opts.Debounce, Debounce)
	)
	quiet.Stop()
	flush := func() {
		if len(paths) == 0 {
			return
		}
		b := Batch{First: first}
		for p := range paths {
			b.Paths = append(b.Paths, p)
		}
		sort.Strings(b.Paths)
		paths = map[string]bool{}
		deadline = nil
		w.opts.OnBatch(b)
	}
	for {
		select {
		case p := <-w.pending:
			if len(paths) == 0 {
				first = time.Now()
				deadline = time.After(MaxDelay)
			}
			paths[p] = true
			quiet.Reset(debounce)
		case <-quiet.C:
			flush()
		case <-deadline:
			flush()
		case <-w.stop:
			quiet.Stop()
			return
		}
	}
}
