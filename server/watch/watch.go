// Package watch reports changed files under a folder: recursive fsnotify
// watches, with project-free directories skipped, and events batched by a
// short debounce. Where the OS runs out of watches it says so and polls the
// rest instead, so a change is never missed in silence.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sourcegraph/conc"
)

// Debounce is how long the watcher waits for quiet before it reports a
// batch: long enough to merge an editor's write-rename-chmod of one save
// (they come within a millisecond) or a git checkout's burst, short enough
// to add almost nothing to a reload.
const Debounce = 10 * time.Millisecond

// MaxDelay bounds how long a continuous stream of events can hold a batch.
const MaxDelay = time.Second

// PollInterval is how often directories without a watch are polled.
const PollInterval = time.Second

// Batch is a set of changed paths.
type Batch struct {
	Paths []string
	// First is when the first event of the batch arrived.
	First time.Time
}

// Options configures a Watcher.
type Options struct {
	// Skip reports a directory to leave out, with everything below it.
	Skip func(dir string) bool
	// Exclude holds glob patterns, relative to the root (** for any depth),
	// of paths to ignore.
	Exclude []string
	// OnBatch receives each batch, from one goroutine.
	OnBatch func(Batch)
	// OnWarning receives problems worth telling the user: running out of
	// watches, or the root disappearing.
	OnWarning func(msg string)
	// OnRootGone is called once if the root is deleted or renamed.
	OnRootGone func()
}

// Watcher watches one directory tree.
type Watcher struct {
	root string
	opts Options
	fsw  *fsnotify.Watcher
	wg   conc.WaitGroup
	stop chan struct{}

	mu      sync.Mutex // guards polled and closed
	polled  map[string]map[string]time.Time
	closed  bool
	pending chan string

	rootGoneOnce sync.Once
}

// New starts watching root.
func New(root string, opts Options) (*Watcher, error) {
	for _, pattern := range opts.Exclude {
		if _, err := filepath.Match(strings.ReplaceAll(pattern, "**", "*"), ""); err != nil {
			return nil, fmt.Errorf("watchExclude pattern %q is not a valid glob: %w", pattern, err)
		}
	}
	fsw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, fmt.Errorf("cannot watch %s: %w", root, err)
	}
	w := &Watcher{root: root, opts: opts, fsw: fsw, stop: make(chan struct{}),
		polled: map[string]map[string]time.Time{}, pending: make(chan string, 1024)}
	w.addTree(root)
	// One goroutine drains fsnotify at once (a slow reader can deadlock it);
	// another batches.
	w.wg.Go(w.drain)
	w.wg.Go(w.batch)
	w.wg.Go(w.poll)
	return w, nil
}

// Close stops the watcher and waits for its goroutines.
func (w *Watcher) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	w.fsw.Close()
	w.wg.Wait()
}

// Polled reports how many directories are polled rather than watched.
func (w *Watcher) Polled() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.polled)
}

func (w *Watcher) skip(path string, dir bool) bool {
	if dir && path != w.root && w.opts.Skip != nil && w.opts.Skip(path) {
		return true
	}
	rel, err := filepath.Rel(w.root, path)
	if err != nil || rel == "." {
		return false
	}
	return matchAny(w.opts.Exclude, filepath.ToSlash(rel))
}

// addTree watches dir and every directory below it. It returns the files
// found, for a directory that appeared after the watch began.
func (w *Watcher) addTree(dir string) (files []string) {
	var noSpace bool
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() {
			if !w.skip(p, false) {
				files = append(files, p)
			}
			return nil
		}
		if w.skip(p, true) {
			return filepath.SkipDir
		}
		if !noSpace {
			err := w.fsw.Add(p)
			if err == nil {
				return nil
			}
			if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EMFILE) {
				return nil
			}
			noSpace = true
			w.warn(fmt.Sprintf("The system ran out of file watches at %s (fs.inotify.max_user_watches on Linux). "+
				"The rest of the folder is polled every %s, so changes there reload more slowly. "+
				"Raise the limit (sudo sysctl fs.inotify.max_user_watches=524288) or add folders to djangoRunserver.watchExclude.", p, PollInterval))
		}
		w.mu.Lock()
		w.polled[p] = snapshot(p)
		w.mu.Unlock()
		return nil
	})
	return files
}

func (w *Watcher) warn(msg string) {
	if w.opts.OnWarning != nil {
		w.opts.OnWarning(msg)
	}
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
			quiet.Reset(Debounce)
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

// rootGone reports the root's disappearance, once.
func (w *Watcher) rootGone() {
	if w.opts.OnRootGone != nil {
		w.rootGoneOnce.Do(w.opts.OnRootGone)
	}
}

// poll rescans directories that have no watch, and checks that the root
// still exists: inotify reports a deleted directory only once nothing holds
// it, and a running server's working directory does; a renamed parent is
// not reported at all.
func (w *Watcher) poll() {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		if _, err := os.Stat(w.root); errors.Is(err, fs.ErrNotExist) {
			w.rootGone()
		}
		w.mu.Lock()
		dirs := make([]string, 0, len(w.polled))
		for d := range w.polled {
			dirs = append(dirs, d)
		}
		w.mu.Unlock()
		for _, d := range dirs {
			now := snapshot(d)
			w.mu.Lock()
			before := w.polled[d]
			w.polled[d] = now
			w.mu.Unlock()
			for name, mt := range now {
				if old, ok := before[name]; !ok || !old.Equal(mt) {
					if !w.skip(name, false) {
						w.send(name)
					}
				}
			}
			for name := range before {
				if _, ok := now[name]; !ok {
					w.send(name)
				}
			}
		}
	}
}

// snapshot maps a directory's files to their modification times.
func snapshot(dir string) map[string]time.Time {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	m := make(map[string]time.Time, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if info, err := e.Info(); err == nil {
			m[filepath.Join(dir, e.Name())] = info.ModTime()
		}
	}
	return m
}

// matchAny matches a slash-separated relative path against globs where **
// spans any number of directories. A pattern matching a directory matches
// everything below it, and a pattern without a slash matches at any depth.
func matchAny(patterns []string, rel string) bool {
	for _, p := range patterns {
		p = strings.TrimSuffix(filepath.ToSlash(p), "/")
		if !strings.Contains(p, "/") {
			p = "**/" + p // like .gitignore: a bare name matches at any depth
		}
		if globMatch(p, rel) {
			return true
		}
	}
	return false
}

func globMatch(pattern, rel string) bool {
	pp := strings.Split(pattern, "/")
	rp := strings.Split(rel, "/")
	var match func(i, j int) bool
	match = func(i, j int) bool {
		for i < len(pp) {
			if pp[i] == "**" {
				for k := j; k <= len(rp); k++ {
					if match(i+1, k) {
						return true
					}
				}
				return false
			}
			if j >= len(rp) {
				return false
			}
			if ok, _ := filepath.Match(pp[i], rp[j]); !ok {
				return false
			}
			i, j = i+1, j+1
		}
		return true // the pattern matched a prefix: a directory and what is below it
	}
	return match(0, 0)
}
