// Package watch reports changed files under a folder: recursive fsnotify
// watches, with project-free directories skipped, and events batched by a
// short debounce. Where events can't be trusted (network and virtual-machine
// filesystems, WSL's Windows drives) or the OS runs out of watches, it says
// so and polls instead, so a change is never missed in silence.
package watch

import (
	"cmp"
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
	pending      chan string

	// Only the poll goroutine uses these.
	hot    map[string]time.Time // when a change was last seen in a polled folder
	turn   string               // the last quiet folder whose files a pass statted
	budget int                  // PollBudget, but for tests

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
		polled: map[string]dirState{}, hot: map[string]time.Time{}, budget: PollBudget, pending: make(chan string, 1024)}
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

// rootGone reports the root's disappearance, once.
func (w *Watcher) rootGone() {
	if w.opts.OnRootGone != nil {
		w.rootGoneOnce.Do(w.opts.OnRootGone)
	}
}

// PollBudget is how many files of quiet folders a poll pass lstats. An
// lstat costs a few microseconds, so statting all of a 50,000-file tree
// every second takes a quarter of a core; with the budget, polling that
// tree takes well under a tenth.
const PollBudget = 10_000

// hotFor is how long a folder stays hot after a change was seen in it: its
// files are then lstatted on every pass, since a developer edits the same
// few files again and again.
const hotFor = 10 * time.Minute

// poll rescans the directories that have no watch (all of them in Poll
// mode), and checks that the root still exists: inotify reports a deleted
// directory only once nothing holds it, and a running server's working
// directory does; a renamed parent is not reported at all.
func (w *Watcher) poll() {
	t := time.NewTicker(w.interval)
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
		w.pass(dirs)
	}
}

// pass polls once. Every folder gets one stat, and is read again when its
// time changed: an added, removed or renamed entry changes it, which is how
// a checkout and the editors that save by renaming show. The files of a
// folder that is hot, or whose time changed lately, are lstatted too. The
// files of quiet folders take turns, w.budget a pass in path order, so
// a tree of up to PollBudget files is checked whole on every pass, and a
// 50,000-file tree at least every fifth.
func (w *Watcher) pass(dirs []string) {
	now := time.Now()
	var quiet []string
	for _, d := range dirs {
		if !w.rescan(d, now) {
			quiet = append(quiet, d)
		}
	}
	if len(quiet) == 0 {
		return
	}
	sort.Strings(quiet)
	// Resume after the folder the last pass ended with.
	start := sort.SearchStrings(quiet, w.turn)
	if start < len(quiet) && quiet[start] == w.turn {
		start++
	}
	statted := 0
	for i := 0; i < len(quiet) && statted < w.budget; i++ {
		d := quiet[(start+i)%len(quiet)]
		w.mu.Lock()
		st, ok := w.polled[d]
		w.mu.Unlock()
		if ok {
			statted += len(st.files)
			w.restat(d, st, now)
		}
		w.turn = d
	}
}

// rescan compares a polled directory with its last scan and reports what
// changed: files added, removed, or with a new modification time or size.
// A new subdirectory is added with its tree; a removed one stops being
// polled. It reports false, leaving the files to pass, for a quiet folder:
// settled, unchanged and not hot.
func (w *Watcher) rescan(dir string, now time.Time) bool {
	w.mu.Lock()
	before := w.polled[dir]
	w.mu.Unlock()
	if before.settled() {
		if info, err := os.Stat(dir); err == nil && info.ModTime().Equal(before.mod) {
			if now.Sub(w.hot[dir]) > hotFor {
				return false
			}
			w.restat(dir, before, now)
			return true
		}
	}
	after, err := w.scan(dir)
	w.mu.Lock()
	if errors.Is(err, fs.ErrNotExist) {
		delete(w.polled, dir)
	} else {
		w.polled[dir] = after
	}
	w.mu.Unlock()
	changed := false
	for name, st := range after.files {
		if old, ok := before.files[name]; !ok || old != st {
			w.send(name)
			changed = true
		}
	}
	for name := range before.files {
		if _, ok := after.files[name]; !ok {
			w.send(name)
			changed = true
		}
	}
	for sub := range after.dirs {
		if !before.dirs[sub] {
			for _, f := range w.addTree(sub) {
				w.send(f)
			}
		}
	}
	if changed {
		w.hot[dir] = now
	}
	if err != nil {
		delete(w.hot, dir)
	}
	return true
}

// restat checks the files of a directory whose entries have not changed
// since its last scan: one lstat each, and no directory read. A file found
// gone is reported; the next poll reads the folder again, since its time
// has then changed. A change makes the folder hot.
func (w *Watcher) restat(dir string, d dirState, now time.Time) {
	for name, old := range d.files {
		info, err := os.Lstat(name)
		if err != nil {
			w.send(name)
			w.hot[dir] = now
			continue
		}
		if st := (stamp{info.ModTime(), info.Size()}); st != old {
			d.files[name] = st // only the poll goroutine touches a scan's maps
			w.send(name)
			w.hot[dir] = now
		}
	}
}

// dirState is one scan of a polled directory.
type dirState struct {
	files map[string]stamp // the files not skipped, by path
	dirs  map[string]bool  // the subdirectories not skipped
	// mod is the directory's modification time, which changes when an
	// entry is added, removed or renamed; scanned is when it was read.
	mod, scanned time.Time
}

// dirTimeSlack covers file systems that keep times in whole seconds (FAT,
// some network mounts): an entry added in the same second as a scan leaves
// the directory's time as it was.
const dirTimeSlack = 2 * time.Second

// settled reports a scan taken well after the directory last changed, so
// an unchanged directory time means unchanged entries.
func (d dirState) settled() bool {
	return d.files != nil && !d.mod.IsZero() && d.scanned.Sub(d.mod) > dirTimeSlack
}

// stamp is what polling compares. A save that keeps the size within the
// file system's time resolution is missed; editors' saves are seconds
// apart or change the size.
type stamp struct {
	mod  time.Time
	size int64
}

// scan lists dir: one directory read, and one lstat per file. The skipped
// are left out, so their changes cost nothing later.
func (w *Watcher) scan(dir string) (dirState, error) {
	scanned := time.Now()
	info, err := os.Stat(dir)
	if err != nil {
		return dirState{}, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return dirState{}, err
	}
	st := dirState{files: make(map[string]stamp, len(entries)), mod: info.ModTime(), scanned: scanned}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if !w.skip(p, true) {
				if st.dirs == nil {
					st.dirs = map[string]bool{}
				}
				st.dirs[p] = true
			}
			continue
		}
		if w.skip(p, false) {
			continue
		}
		if info, err := e.Info(); err == nil {
			st.files[p] = stamp{info.ModTime(), info.Size()}
		}
	}
	return st, nil
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
