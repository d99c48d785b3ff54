// Package watch reports changed files under a folder: recursive fsnotify
// watches, with project-free directories skipped, and events batched by a
// short debounce. Where events can't be trusted (network and virtual-machine
// filesystems, WSL's Windows drives) or the OS runs out of watches, it says
// so and polls instead, so a change is never missed in silence.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sourcegraph/conc"
)

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
	// Mode chooses events or polling; empty means Auto.
	Mode Mode
	// PollInterval is the time between polls; zero means PollInterval.
	// Polling stats each file, comparing its modification time and size.
	PollInterval time.Duration
	// Debounce is the quiet that ends a batch; zero means Debounce.
	Debounce time.Duration
}

// Watcher watches one directory tree.
type Watcher struct {
	root string
	opts Options
	fsw  *fsnotify.Watcher
	wg   conc.WaitGroup
	stop chan struct{}

	// mode is Events or Poll: what Auto chose. why says why, for the log.
	mode     Mode
	why      string
	interval time.Duration

	mu           sync.Mutex // guards polled, outOfWatches and closed
	polled       map[string]dirState
	outOfWatches bool // the OS refused a watch: later folders are polled
	closed       bool
	pending      chan string // changed paths, from events and polls, to batch

	pollState // the poller's own, in poll.go

	rootGoneOnce sync.Once
}

// New starts watching root.
func New(root string, opts Options) (*Watcher, error) {
	for _, pattern := range opts.Exclude {
		if _, err := filepath.Match(strings.ReplaceAll(pattern, "**", "*"), ""); err != nil {
			return nil, fmt.Errorf("watchExclude pattern %q is not a valid glob: %w", pattern, err)
		}
	}
	w := &Watcher{root: root, opts: opts, stop: make(chan struct{}), interval: opts.PollInterval,
		polled: map[string]dirState{}, pending: make(chan string, 1024),
		pollState: pollState{hot: map[string]time.Time{}, budget: PollBudget}}
	if w.interval <= 0 {
		w.interval = PollInterval
	}
	mode := opts.Mode
	switch mode {
	case "":
		mode = Auto
	case Auto, Events, Poll:
	default:
		return nil, fmt.Errorf("watch mode %q is not auto, events or poll", mode)
	}
	w.mode, w.why = choose(mode, root, platformFacts(root), w.interval)
	if w.mode == Events {
		fsw, err := fsnotify.NewBufferedWatcher(4096)
		switch {
		case err == nil:
			w.fsw = fsw
			// One goroutine drains fsnotify at once (a slow reader can
			// deadlock it).
			w.wg.Go(w.drain)
		case mode == Auto:
			// Out of inotify instances, say: auto still sees changes.
			w.mode, w.why = Poll, fmt.Sprintf("Polling for changes every %s: the system gave no file events (%v).", w.interval, err)
		default:
			return nil, fmt.Errorf("cannot watch %s: %w", root, err)
		}
	}
	w.addTree(root)
	w.wg.Go(w.batch)
	w.wg.Go(w.poll)
	return w, nil
}

// Mode is how the watcher notices changes: Events or Poll.
func (w *Watcher) Mode() Mode { return w.mode }

// Why says, in a sentence for the log, how the watcher notices changes and
// why: what made Auto poll, for one.
func (w *Watcher) Why() string { return w.why }

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
	if w.fsw != nil {
		w.fsw.Close()
	}
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
	if len(w.opts.Exclude) == 0 {
		return false // the common case, and polling asks for every file
	}
	rel, err := filepath.Rel(w.root, path)
	if err != nil || rel == "." {
		return false
	}
	return matchAny(w.opts.Exclude, filepath.ToSlash(rel))
}

// addTree watches dir and every directory below it, or polls them. It
// returns the files found, for a directory that appeared after the watch
// began.
func (w *Watcher) addTree(dir string) (files []string) {
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
		w.mu.Lock()
		watch := w.fsw != nil && !w.outOfWatches
		w.mu.Unlock()
		if watch {
			err := w.fsw.Add(p)
			if err == nil {
				return nil
			}
			if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EMFILE) {
				return nil
			}
			w.mu.Lock()
			w.outOfWatches = true
			w.mu.Unlock()
			w.warn(fmt.Sprintf("The system ran out of file watches at %s (fs.inotify.max_user_watches on Linux). "+
				"The rest of the folder is polled every %s, so changes there reload more slowly. "+
				"Raise the limit (sudo sysctl fs.inotify.max_user_watches=524288) or exclude folders from watching.", p, w.interval))
		}
		st, _ := w.scan(p)
		w.mu.Lock()
		w.polled[p] = st
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

// rootGone reports the root's disappearance, once.
func (w *Watcher) rootGone() {
	if w.opts.OnRootGone != nil {
		w.rootGoneOnce.Do(w.opts.OnRootGone)
	}
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
