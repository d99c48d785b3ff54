//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	serverconfig "github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/watch"
)

const maxWatchesFile = "/proc/sys/fs/inotify/max_user_watches"

// scaleTree is a generated tree: dirs leaf folders in groups of 100, files
// spread evenly over them.
type scaleTree struct {
	root string
	leaf []string
}

func makeScaleTree(root string, files, dirs int) (*scaleTree, error) {
	t := &scaleTree{root: root}
	for d := range dirs {
		t.leaf = append(t.leaf, filepath.Join(root, fmt.Sprintf("pkg%03d", d/100), fmt.Sprintf("mod%03d", d%100)))
	}
	// Writing tens of thousands of small files is bound by system calls: a
	// few writers in parallel keep the run short.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range errs {
		wg.Go(func() {
			for d := w; d < dirs; d += len(errs) {
				if err := os.MkdirAll(t.leaf[d], 0o755); err != nil {
					errs[w] = err
					return
				}
				for f := d; f < files; f += dirs {
					p := filepath.Join(t.leaf[d], fmt.Sprintf("m%05d.py", f))
					if err := os.WriteFile(p, []byte("x = 1\n"), 0o644); err != nil {
						errs[w] = err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return t, errors.Join(errs...)
}

// probe is a watcher on the tree with its batches on a channel.
type probe struct {
	w        *watch.Watcher
	batches  chan watch.Batch
	mu       sync.Mutex
	warnings []string
}

func newProbe(root string, mode watch.Mode) (*probe, error) {
	p := &probe{batches: make(chan watch.Batch, 256)}
	w, err := watch.New(root, watch.Options{
		Mode:    mode,
		Skip:    serverconfig.SkipDir, // as the engine does
		OnBatch: func(b watch.Batch) { p.batches <- b },
		OnWarning: func(msg string) {
			p.mu.Lock()
			p.warnings = append(p.warnings, msg)
			p.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	p.w = w
	return p, nil
}

// change writes path and returns how long until the watcher saw its first
// event, and until it reported the batch holding path.
func (p *probe) change(path string, n int, timeout time.Duration) (first, batch time.Duration, err error) {
	// Drain what earlier writes left.
	for len(p.batches) > 0 {
		<-p.batches
	}
	t0 := time.Now()
	if err := os.WriteFile(path, []byte("x = "+strconv.Itoa(n)+"\n"), 0o644); err != nil {
		return 0, 0, err
	}
	deadline := time.After(timeout)
	for {
		select {
		case b := <-p.batches:
			if slices.Contains(b.Paths, path) {
				return b.First.Sub(t0), time.Since(t0), nil
			}
		case <-deadline:
			return 0, 0, fmt.Errorf("no report of %s within %s", path, timeout)
		}
	}
}

// runScale measures the watcher on a large generated tree: set-up time,
// memory, and change-to-trigger latency; then what happens when the OS runs
// out of watches.
func runScale(cfg *config, r *report) {
	progress("scale: generating %d files in %d folders", cfg.files, cfg.dirs)
	t0 := time.Now()
	tree, err := makeScaleTree(filepath.Join(cfg.tmp, "scale"), cfg.files, cfg.dirs)
	if err != nil {
		r.fail("scale: %v", err)
		return
	}
	r.scaleTree = fmt.Sprintf("%d files in %d folders (generated in %s)", cfg.files, cfg.dirs, time.Since(t0).Round(100*time.Millisecond))

	progress("scale: watcher set-up")
	setup := newSample("ms")
	for i := 0; i <= cfg.reps; i++ {
		t := time.Now()
		p, err := newProbe(tree.root, watch.Events)
		if err != nil {
			r.fail("scale: %v", err)
			return
		}
		d := time.Since(t)
		p.w.Close()
		if i > 0 {
			setup.addDuration(d)
		}
	}
	r.put("scale/setup", setup)

	// RSS is measured in a fresh process that does nothing else, where this
	// one's garbage would blur it.
	rss := newSample("MB")
	for i := 0; i <= cfg.reps; i++ {
		grew, err := watcherRSS(tree.root)
		if err != nil {
			r.fail("scale: %v", err)
			return
		}
		if i > 0 {
			rss.add(grew)
		}
	}
	r.put("scale/rss", rss)

	progress("scale: watcher memory and trigger latency")
	heapBefore := heapInUse()
	p, err := newProbe(tree.root, watch.Events)
	if err != nil {
		r.fail("scale: %v", err)
		return
	}
	heap := newSample("MB")
	heap.add(float64(heapInUse()-heapBefore) / (1 << 20))
	r.put("scale/heap", heap)
	r.scalePolled = p.w.Polled()
	first, batch := newSample("ms"), newSample("ms")
	for i := 0; i <= cfg.reps; i++ {
		time.Sleep(100 * time.Millisecond)
		leaf := tree.leaf[(i*7919)%len(tree.leaf)] // spread over the tree
		f, b, err := p.change(filepath.Join(leaf, "changed.py"), i, 5*time.Second)
		if err != nil {
			p.w.Close()
			r.fail("scale: %v", err)
			return
		}
		if i > 0 {
			first.addDuration(f)
			batch.addDuration(b)
		}
	}
	p.w.Close()
	r.put("scale/first", first)
	r.put("scale/trigger", batch)

	runPolling(cfg, tree, r)
	runOutOfWatches(cfg, tree, r)
}

// runPolling measures `watch: poll` on the tree at the default interval:
// the idle CPU of a process that does nothing else, and how long a change
// takes to be reported (half the interval on average, by design).
func runPolling(cfg *config, tree *scaleTree, r *report) {
	progress("scale: polling every %s, idle CPU over %s", watch.PollInterval, cfg.idle)
	exe, err := os.Executable()
	if err != nil {
		r.fail("scale, polling: %v", err)
		return
	}
	child := exec.Command(exe, "-poll-watcher", tree.root)
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		r.fail("scale, polling: %v", err)
		return
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		r.fail("scale, polling: %v", err)
		return
	}
	if err := child.Start(); err != nil {
		r.fail("scale, polling: %v", err)
		return
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		stdin.Close()
		child.Wait()
		r.fail("scale, polling: -poll-watcher said %q: %v", line, err)
		return
	}
	idle := measureIdle(idleSettle, cfg.idle, []int{child.Process.Pid})[0]
	stdin.Close()
	if err := child.Wait(); err != nil {
		r.fail("scale, polling: -poll-watcher: %v", err)
		return
	}
	r.put("scale/poll-idle", idle)

	progress("scale: polling, change until reported")
	p, err := newProbe(tree.root, watch.Poll)
	if err != nil {
		r.fail("scale, polling: %v", err)
		return
	}
	defer p.w.Close()
	// A new file changes its folder's time, which every pass looks at; a
	// file rewritten in place in a quiet folder waits for its folder's turn.
	// Each repetition uses folders no earlier one touched, so they are quiet.
	added, inPlace := newSample("ms"), newSample("ms")
	round := time.Duration(cfg.files/watch.PollBudget+2) * watch.PollInterval
	for i := 0; i <= cfg.reps; i++ {
		d := (i*7919 + 13) % len(tree.leaf)
		_, b, err := p.change(filepath.Join(tree.leaf[d], "polled.py"), i, 3*watch.PollInterval+5*time.Second)
		if err != nil {
			r.fail("scale, polling: %v", err)
			return
		}
		d = (d + len(tree.leaf)/2) % len(tree.leaf)
		_, c, err := p.change(filepath.Join(tree.leaf[d], fmt.Sprintf("m%05d.py", d)), i, round+5*time.Second)
		if err != nil {
			r.fail("scale, polling: %v", err)
			return
		}
		if i > 0 {
			added.addDuration(b)
			inPlace.addDuration(c)
		}
	}
	r.put("scale/poll-trigger", added)
	r.put("scale/poll-inplace", inPlace)
}

// pollWatcherChild is the -poll-watcher process: it polls root at the
// default interval until its stdin closes, so its CPU is polling's alone.
func pollWatcherChild(root string) int {
	p, err := newProbe(root, watch.Poll)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.w.Close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// runOutOfWatches lowers fs.inotify.max_user_watches just above what the
// machine already uses, so the watcher runs out partway through the tree,
// and checks that it says so and still reports changes in the folders it
// polls. The limit is restored as soon as the watcher is set up, and on any
// exit, so other programs are denied watches for as short a time as can be.
func runOutOfWatches(cfg *config, tree *scaleTree, r *report) {
	lim := &r.limit
	b, err := os.ReadFile(maxWatchesFile)
	if err != nil {
		lim.skipped = fmt.Sprintf("cannot read %s: %v", maxWatchesFile, err)
		return
	}
	orig := strings.TrimSpace(string(b))
	inUse := inotifyWatches()
	budget := max(10, cfg.dirs/5)
	lim.limit = inUse + budget
	progress("scale: lowering max_user_watches from %s to %d (%d in use)", orig, lim.limit, inUse)
	restore := atExit(func() {
		if err := os.WriteFile(maxWatchesFile, []byte(orig), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: could not restore %s to %s: %v\n", maxWatchesFile, orig, err)
		}
	})
	if err := os.WriteFile(maxWatchesFile, []byte(strconv.Itoa(lim.limit)), 0o644); err != nil {
		restore()
		lim.skipped = fmt.Sprintf("lowering %s is not permitted here (%v), so running out of watches was not exercised", maxWatchesFile, err)
		return
	}
	p, err := newProbe(tree.root, watch.Events)
	restore()
	if err != nil {
		r.fail("scale, out of watches: %v", err)
		return
	}
	defer p.w.Close()
	lim.ran = true
	lim.polled = p.w.Polled()
	p.mu.Lock()
	lim.warnings = slices.Clone(p.warnings)
	p.mu.Unlock()
	if lim.polled == 0 {
		return
	}
	// WalkDir visits folders in lexical order, so the last leaf is among
	// those left without a watch.
	last := tree.leaf[len(tree.leaf)-1]
	lim.latency = newSample("ms")
	for i := 0; i <= cfg.reps; i++ {
		_, d, err := p.change(filepath.Join(last, "polled.py"), i, 3*watch.PollInterval+time.Second)
		if err != nil {
			lim.missed++
			continue
		}
		if i > 0 {
			lim.latency.addDuration(d)
		}
	}
}

// limitResult is what happened past max_user_watches.
type limitResult struct {
	skipped  string // why it was not exercised
	ran      bool
	limit    int
	polled   int
	warnings []string
	latency  *sample // change in a polled folder until reported
	missed   int
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// watcherRSS runs this program with -measure-watcher and returns how much
// that process's RSS grew, in MB, from before the watcher to after it.
func watcherRSS(root string) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	out, err := output(exe, "-measure-watcher", root)
	if err != nil {
		return 0, fmt.Errorf("-measure-watcher: %v %s", err, out)
	}
	var before, after int64
	if _, err := fmt.Sscan(out, &before, &after); err != nil {
		return 0, fmt.Errorf("-measure-watcher printed %q", out)
	}
	return float64(after-before) / 1024, nil
}

// measureWatcherChild is the -measure-watcher process: it prints its RSS in
// KiB before and after setting up a watcher on root.
func measureWatcherChild(root string) int {
	runtime.GC()
	before, err := memKB(os.Getpid(), "VmRSS")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := newProbe(root, watch.Events)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.w.Close()
	after, err := memKB(os.Getpid(), "VmRSS")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(before, after)
	return 0
}
