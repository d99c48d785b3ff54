package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// PollBudget is how many files of quiet folders a poll pass lstats. An
// lstat costs a few microseconds, so statting all of a 50,000-file tree
// every second takes a quarter of a core; with the budget, polling that
// tree takes well under a tenth.
const PollBudget = 10_000

// hotFor is how long a folder stays hot after a change was seen in it: its
// files are then lstatted on every pass, since a developer edits the same
// few files again and again.
const hotFor = 10 * time.Minute

// pollState is what only the poll goroutine uses.
type pollState struct {
	hot    map[string]time.Time // when a change was last seen in a polled folder
	turn   string               // the last quiet folder whose files a pass statted
	budget int                  // PollBudget, but for tests
}

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
