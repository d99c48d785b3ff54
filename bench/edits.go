//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/django-runserver/django-runserver/internal/procfs"
	"github.com/django-runserver/django-runserver/protocol"
)

// server is one way of running Django's dev server, from the point of view
// of an edit: what happens right after the save, and how long to wait before
// the next edit will be noticed.
type server interface {
	// afterWrite runs right after a file is written.
	afterWrite(path string) error
	// settle waits until a new edit will be noticed, given when the server
	// last served an edit.
	settle(last time.Time) error
	// tree is the server's processes, for CPU accounting.
	tree() []int
	// spawnedAt is when the serving process was started, where that can be
	// seen from outside; zero otherwise.
	spawnedAt() time.Time
	close()
}

// ours is our backend in fast mode, told of saves by didSave or left to
// its watcher.
type ours struct {
	b    *backend
	save bool
}

func (o *ours) afterWrite(path string) error {
	if o.save {
		return o.b.didSave(path)
	}
	return nil
}

// settle waits for the server to run again, then a little past the watcher's
// debounce, so the previous write's events are all reported.
func (o *ours) settle(last time.Time) error {
	if _, err := o.b.waitState(protocol.StateRunning, 60*time.Second); err != nil {
		return err
	}
	time.Sleep(time.Until(last.Add(150 * time.Millisecond)))
	return nil
}

func (o *ours) tree() []int { return procfs.Tree(o.b.pid()) }

func (o *ours) spawnedAt() time.Time { return o.b.djangoAt() }

func (o *ours) close() {
	if err := o.b.shutdown(); err != nil {
		progress("backend shutdown: %v", err)
	}
}

// plain is `manage.py runserver` under one of Django's reloaders, or the
// floor: --noreload, killed and started cold on every save.
type plain struct {
	d        *djangoRun
	reloader string
	py, dir  string
	port     int
	url      string    // what tells it serves
	spawned  time.Time // the floor's latest start
}

func startPlain(py, dir string, port int, reloader, url string) (*plain, error) {
	return startPlainLogging(py, dir, port, reloader, url, "")
}

// startPlainLogging is startPlain for a project whose logging sends
// Django's messages to the file log rather than the console.
func startPlainLogging(py, dir string, port int, reloader, url, log string) (*plain, error) {
	d, err := startDjango(py, dir, port, reloader, url)
	if err != nil {
		return nil, err
	}
	d.log = log
	p := &plain{d: d, reloader: reloader, py: py, dir: dir, port: port, url: url}
	if reloader != noreload {
		if err := djangoFellBack(reloader, d.reloaderName()); err != nil {
			d.kill()
			return nil, err
		}
	}
	return p, nil
}

func (p *plain) afterWrite(string) error {
	if p.reloader != noreload {
		return nil
	}
	p.d.terminate()
	p.spawned = time.Now()
	d, err := startDjango(p.py, p.dir, p.port, noreload, p.url)
	if err != nil {
		return err
	}
	p.d = d
	return nil
}

// settle: Django's reloaders notice nothing until their first poll or
// subscription after a restart, which nothing outside them can observe, so
// wait out StatReloader's one-second poll, as the reference measurement in
// DESIGN.md did. A random extra of up to a second puts each save at a random
// point of the poll, as a developer's saves are: a fixed pause can lock onto
// the poll's period and report the same lucky (or unlucky) delay every time.
func (p *plain) settle(last time.Time) error {
	quiet := 150 * time.Millisecond
	if p.reloader != noreload {
		quiet = 1200*time.Millisecond + rand.N(time.Second)
	}
	time.Sleep(time.Until(last.Add(quiet)))
	return nil
}

func (p *plain) tree() []int { return procfs.Tree(p.d.pid()) }

func (p *plain) spawnedAt() time.Time { return p.spawned }

func (p *plain) close() { p.d.kill() }

// edit is a file to rewrite and the page that shows it.
type edit struct {
	file, url string
	// content returns the file's n-th version and a marker the page shows
	// once that version is served.
	content func(n int) (text, marker string)
	n       *int // versions written so far
}

// trial is one row of a table: an edit on a server, measured repeatedly.
type trial struct {
	key  string
	srv  server
	e    edit
	port int // the server's; also tells which trials share a process
	smp  *sample
	// spawn is the part of each repetition until the new process was
	// started, where the server shows it.
	spawn *sample
	wrote time.Time // when the latest repetition wrote the file
	err   error
}

// runRounds measures every trial reps+1 times (the first is the warm-up),
// one repetition of each in turn. Interleaving spreads the noise of this
// shared machine evenly over the trials, where running them one after the
// other would hand a burst of someone else's load to one of them; and one
// server's quiet period passes while the others are measured. A trial that
// fails is dropped from later rounds. last holds, by port, when each server
// last served an edit; it carries over from one call to the next.
func runRounds(section string, trials []*trial, reps int, last map[int]time.Time) {
	for i := 0; i <= reps; i++ {
		progress("%s: round %d of %d%s", section, i+1, reps+1, map[bool]string{true: " (warm-up)"}[i == 0])
		for _, t := range trials {
			if t.err != nil {
				continue
			}
			d, restarted, err := measureEdit(t, last[t.port])
			last[t.port] = time.Now()
			if errors.Is(err, context.DeadlineExceeded) {
				// A change the server never picked up is a finding, not a
				// failure of the benchmark: count it and go on, the next
				// edit brings the page up to date.
				progress("%s: %v", t.key, err)
				if i > 0 {
					t.smp.missed++
				}
				continue
			}
			if err != nil {
				t.err = err
				continue
			}
			if i > 0 {
				t.smp.addDuration(d)
				if restarted {
					t.smp.restarts++
				}
				if sp := t.srv.spawnedAt(); restarted && sp.After(t.wrote) {
					t.spawn.addDuration(sp.Sub(t.wrote))
				}
			}
		}
	}
}

// missAfter is when an edit not yet served counts as missed: several times
// the slowest reload seen here, even on the heavier project under load.
const missAfter = 20 * time.Second

// measureEdit writes the file's next version and times the write until the
// page shows it, noting whether the process that serves the port changed.
func measureEdit(t *trial, last time.Time) (time.Duration, bool, error) {
	if err := t.srv.settle(last); err != nil {
		return 0, false, err
	}
	// The developer looks at the page before editing: a template is then in
	// Django's cache, and only a reloader's reset can bring the edit in.
	if _, err := get(t.e.url); err != nil {
		return 0, false, fmt.Errorf("the page did not load before the edit: %w", err)
	}
	before := listenerPID(t.port)
	*t.e.n++
	text, marker := t.e.content(*t.e.n)
	t0 := time.Now()
	t.wrote = t0
	if err := os.WriteFile(t.e.file, []byte(text), 0o644); err != nil {
		return 0, false, err
	}
	if err := t.srv.afterWrite(t.e.file); err != nil {
		return 0, false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), missAfter)
	defer cancel()
	t1, err := waitServed(ctx, t.e.url, marker)
	if err != nil {
		return 0, false, err
	}
	return t1.Sub(t0), listenerPID(t.port) != before, nil
}

// putTrials records each trial's samples, or why it could not run.
func (r *report) putTrials(trials []*trial) {
	for _, t := range trials {
		if t.err != nil {
			r.fail("%s: %v", t.key, t.err)
			continue
		}
		r.put(t.key, t.smp)
		r.put(t.key+"/spawn", t.spawn)
	}
}

func newTrial(key string, srv server, e edit, port int) *trial {
	smp := newSample("ms")
	smp.restarts = 0
	return &trial{key: key, srv: srv, e: e, port: port, smp: smp, spawn: newSample("ms")}
}

// idleSettle lets a server finish starting (imports, checks, the first
// reloader pass) before its idle CPU is measured.
const idleSettle = 3 * time.Second

// measureIdle samples the CPU use of each process set, once a second over
// window after settle, as a percentage of one core. All sets share the same
// window, so the machine's background load weighs on each alike.
func measureIdle(settle, window time.Duration, sets ...[]int) []*sample {
	time.Sleep(settle)
	out := make([]*sample, len(sets))
	prev := make([]time.Duration, len(sets))
	for i, pids := range sets {
		out[i] = newSample("%")
		prev[i] = procfs.CPUTime(pids...)
	}
	last := time.Now()
	for range max(1, int(window/time.Second)) {
		time.Sleep(time.Second)
		now := time.Now()
		for i, pids := range sets {
			cur := procfs.CPUTime(pids...)
			out[i].add(100 * float64(cur-prev[i]) / float64(now.Sub(last)))
			prev[i] = cur
		}
		last = now
	}
	return out
}

// idleRows measures the idle CPU of every server at once, under prefix:
// ours cold and warm (backend, Django and preloaders), the backend alone,
// and Django's.
func idleRows(r *report, prefix string, settle, window time.Duration, cold, warm *ours, backend *backend, plains map[string]*plain) {
	keys := []string{prefix + "/fast", prefix + "/warm", prefix + "/backend"}
	sets := [][]int{cold.tree(), warm.tree(), {backend.pid()}}
	for _, key := range []string{"stat", "watchman", "floor"} {
		if p := plains[key]; p != nil {
			keys = append(keys, prefix+"/"+key)
			sets = append(sets, p.tree())
		}
	}
	if p := plains["watchman"]; p != nil {
		keys = append(keys, prefix+"/watchman+service")
		sets = append(sets, append(p.tree(), pidsByComm("watchman")...))
	}
	for i, s := range measureIdle(settle, window, sets...) {
		r.put(keys[i], s)
	}
}

// oursSettings are the settings of our server in every section: fast mode
// on port, with preload, failing rather than moving off a taken port.
func oursSettings(env *env, port int, preload string) map[string]any {
	return map[string]any{
		"python": env.python, "address": fmt.Sprintf("127.0.0.1:%d", port), "reload": "fast", "onPortConflict": "fail",
		"preload": preload,
	}
}

// startOurs starts our backend on a folder and its server in fast mode,
// with preload auto or off (cold).
func startOurs(env *env, dir, preload string) (*ours, int, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	b, err := startBackend(env.bin, dir, oursSettings(env, port, preload))
	if err != nil {
		return nil, 0, err
	}
	if err := b.startServer(); err != nil {
		_ = b.shutdown()
		return nil, 0, err
	}
	if preload != "off" {
		// Measure reloads from ready preloaders, as a developer's come: the
		// second level, or the first where the project keeps the second off.
		if err := b.awaitPreloadsSettled(60 * time.Second); err != nil {
			_ = b.shutdown()
			return nil, 0, err
		}
	}
	return &ours{b: b, save: true}, port, nil
}

// startPlainEditing starts Django's runserver on s, ready once the view its
// Python edit changes serves.
func startPlainEditing(env *env) func(s *site, port int, reloader string) (*plain, error) {
	return func(s *site, port int, reloader string) (*plain, error) {
		return startPlain(env.python, s.dir, port, reloader, s.pyEdit(port).url)
	}
}

// eachDjango starts Django's runserver under each of reloaders, each on a
// site of its own (newSite, by the row's key) and a free port, and hands it
// to use, which closes it. A watchman this machine lacks is reported
// unavailable, and a server that fails to start is reported and skipped;
// it returns false, having failed the report, when a site can't be made.
func eachDjango[S any](env *env, r *report, what string, reloaders []string,
	newSite func(key string) (S, error),
	start func(s S, port int, reloader string) (*plain, error),
	use func(key string, p *plain, s S, port int)) bool {
	for _, reloader := range reloaders {
		key := rowKey[reloader]
		if reloader == watchman && env.watchmanUnavailable != "" {
			r.unavailable(key, env.watchmanUnavailable)
			continue
		}
		s, port, err := withFreePort(newSite(key))
		if err != nil {
			r.fail("%s: %v", what, err)
			return false
		}
		p, err := start(s, port, reloader)
		if err != nil {
			if reloader == watchman {
				r.unavailable(key, err.Error())
			} else {
				r.fail("%s, %s: %v", what, key, err)
			}
			continue
		}
		use(key, p, s, port)
	}
	return true
}

// newCopies makes a site for each of keys with newSite, all before any
// server runs, so that each server sees only its own edits.
func newCopies(keys []string, newSite func(key string) (*site, error)) (map[string]*site, error) {
	copies := map[string]*site{}
	for _, key := range keys {
		s, err := newSite(key)
		if err != nil {
			return nil, err
		}
		copies[key] = s
	}
	return copies, nil
}

// startOursOr starts ours on dir as startOurs does; on an error it fails
// the report for what, and returns nil.
func startOursOr(env *env, r *report, what, dir, preload string) (*ours, int) {
	o, port, err := startOurs(env, dir, preload)
	if err != nil {
		r.fail("%s: %v", what, err)
		return nil, 0
	}
	return o, port
}

// plainTrials starts Django's runserver under each of reloaders on the copy
// of its row's key, as eachDjango does, and returns a Python-edit trial on
// each, named section/key, and what closes them all; ok is false when the
// report failed.
func plainTrials(env *env, r *report, section string, reloaders []string, copies map[string]*site) (trials []*trial, closeAll func(), ok bool) {
	var plains []*plain
	ok = eachDjango(env, r, section, reloaders,
		func(key string) (*site, error) { return copies[key], nil }, startPlainEditing(env),
		func(key string, p *plain, s *site, port int) {
			plains = append(plains, p)
			trials = append(trials, newTrial(section+"/"+key, p, s.pyEdit(port), port))
		})
	return trials, func() {
		for _, p := range plains {
			p.close()
		}
	}, ok
}

// rowKey names each of Django's ways in sample keys.
var rowKey = map[string]string{stat: "stat", watchman: "watchman", noreload: "floor"}

// runEdits measures Python and template edits, then idle CPU, on copies of
// testdata/mysite: one for each server, all running at once, so an edit
// reaches only the server it is meant for.
func runEdits(cfg *config, env *env, r *report) {
	progress("edits: starting ours and Django's servers on copies of testdata/mysite")
	var pyTrials, tplTrials []*trial
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	add := func(key string, srv server, s *site, port int) {
		pyTrials = append(pyTrials, newTrial("py/"+key, srv, s.pyEdit(port), port))
		tplTrials = append(tplTrials, newTrial("tpl/"+key, srv, s.tplEdit(port), port))
	}

	copies, err := newCopies([]string{"ours", "warm"}, func(key string) (*site, error) { return newSampleSite(cfg, "mysite-"+key) })
	if err != nil {
		r.fail("edits: %v", err)
		return
	}
	oursSite, warmSite := copies["ours"], copies["warm"]
	save, oursPort := startOursOr(env, r, "edits, ours", oursSite.dir, "off")
	if save == nil {
		return
	}
	b, watch := save.b, &ours{b: save.b}
	closers = append(closers, save.close)
	add("fast-save", save, oursSite, oursPort)

	// Warm: Python edits only, since a template edit restarts nothing.
	warm, warmPort := startOursOr(env, r, "edits, ours warm", warmSite.dir, "auto")
	if warm == nil {
		return
	}
	wb := warm.b
	closers = append(closers, warm.close)
	pyTrials = append(pyTrials, newTrial("py/warm-save", warm, warmSite.pyEdit(warmPort), warmPort))

	plains := map[string]*plain{}
	if !eachDjango(env, r, "edits", []string{stat, watchman, noreload},
		func(key string) (*site, error) { return newSampleSite(cfg, "mysite-"+key) }, startPlainEditing(env),
		func(key string, p *plain, s *site, port int) {
			plains[key] = p
			closers = append(closers, p.close)
			add(key, p, s, port)
		}) {
		return
	}
	add("fast-watch", watch, oursSite, oursPort)

	// The first seconds after start, which every user meets: nothing may
	// poll once a server is ready.
	progress("edits: idle CPU right after start (%s)", cfg.idle)
	idleRows(r, "idle-start", 0, cfg.idle, save, warm, b, plains)

	// Python edits first, then template edits, each in rounds of their own:
	// a template edit then meets a server that has been up a while, not
	// one that a Python edit restarted a moment before.
	last := map[int]time.Time{}
	runRounds("edits, Python", pyTrials, cfg.reps, last)
	runRounds("edits, templates", tplTrials, cfg.reps, last)
	r.putTrials(append(pyTrials, tplTrials...))

	progress("edits: idle CPU of every server at once (%s)", cfg.idle)
	idleRows(r, "idle", idleSettle, cfg.idle, save, warm, b, plains)
	putMemMB(r, "rss/running", b.pid(), "VmHWM")
	r.notes["py/warm-save"] = preloadNote(wb)
	progress("edits: the preloader's memory and rebuild time (mysite)")
	measurePreload(r, wb, warmSite, warmPort, "preload/mysite", cfg.reps)
	progress("edits: where a reload's time goes (mysite)")
	measureAnatomy(r, env.python, oursSite.dir, "mysite.settings", "anatomy/mysite", cfg.reps)
}
