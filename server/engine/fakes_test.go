package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// The fakes of the engine's seams, and a recorder of what it reports. Tests
// wait for what they expect with a deadline: every record wakes the
// waiters, so nothing polls or sleeps.

// waitFor bounds every wait: generous, for a loaded machine.
const waitFor = 20 * time.Second

// board is state that tests wait on: every update wakes the waiters.
type board struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every update
}

// update changes the state under the board's lock, and wakes the waiters.
func (b *board) update(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
}

// await waits until cond, called under the board's lock, holds.
func (b *board) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	b.wait(t, cond, func() string { return fmt.Sprintf("waited %s for %s", waitFor, what) })
}

// wait waits until cond holds; past waitFor, the test fails with what
// failure, called under the board's lock, says.
func (b *board) wait(t *testing.T, cond func() bool, failure func() string) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		b.mu.Lock()
		ok := cond()
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			b.mu.Lock()
			msg := failure()
			b.mu.Unlock()
			t.Fatal(msg)
		}
	}
}

// recorder is a Notifier that keeps everything.
type recorder struct {
	board
	statuses []protocol.Status
	messages []Message
	diags    map[string][]protocol.Diagnostic
	asked    []string
}

func newRecorder() *recorder {
	return &recorder{diags: map[string][]protocol.Diagnostic{}}
}

func (r *recorder) Status(st protocol.Status) {
	r.update(func() { r.statuses = append(r.statuses, st) })
}
func (r *recorder) Log(protocol.LogParams) {}
func (r *recorder) Diagnostics(uri string, d []protocol.Diagnostic) {
	r.update(func() { r.diags[uri] = d })
}
func (r *recorder) ShowMessage(m Message)                { r.update(func() { r.messages = append(r.messages, m) }) }
func (r *recorder) LogMessage(m Message)                 { r.update(func() { r.messages = append(r.messages, m) }) }
func (r *recorder) DebugReady(protocol.DebugReadyParams) {}
func (r *recorder) DebugGone(protocol.DebugGoneParams)   {}
func (r *recorder) Ask(_ context.Context, _ protocol.MessageType, msg string, _ ...string) string {
	r.update(func() { r.asked = append(r.asked, msg) })
	return ""
}

// await waits until cond holds over what was recorded.
func (r *recorder) await(t *testing.T, what string, cond func(r *recorder) bool) {
	t.Helper()
	r.wait(t, func() bool { return cond(r) }, func() string {
		return fmt.Sprintf("waited %s for %s; statuses: %s; messages: %v", waitFor, what, states(r.statuses), r.messages)
	})
}

// awaitStatus waits for a status since from that satisfies cond, and
// returns it.
func (r *recorder) awaitStatus(t *testing.T, from int, what string, cond func(protocol.Status) bool) protocol.Status {
	t.Helper()
	var got protocol.Status
	r.await(t, what, func(r *recorder) bool {
		for _, st := range r.statuses[min(from, len(r.statuses)):] {
			if cond(st) {
				got = st
				return true
			}
		}
		return false
	})
	return got
}

// awaitState waits for state since from.
func (r *recorder) awaitState(t *testing.T, from int, s protocol.State) protocol.Status {
	t.Helper()
	return r.awaitStatus(t, from, string(s), func(st protocol.Status) bool { return st.State == s })
}

// mark is where the statuses recorded from now on begin.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.statuses)
}

func (r *recorder) since(from int) []protocol.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.statuses[min(from, len(r.statuses)):])
}

func (r *recorder) texts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, m := range r.messages {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}

func states(sts []protocol.Status) string {
	var s []string
	for _, st := range sts {
		s = append(s, fmt.Sprintf("%s(pid %d)", st.State, st.PID))
	}
	return strings.Join(s, " → ")
}

// fakeClock is time that moves only when a test advances it.
type fakeClock struct {
	board  // updated when a timer is added
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	d       time.Duration
	at      time.Time
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	t := &fakeTimer{c: c, d: d, f: f}
	c.update(func() {
		t.at = c.now.Add(d)
		c.timers = append(c.timers, t)
	})
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// Advance moves time on by d, firing the timers that fall due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.fired && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.fired = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

// awaitTimer waits until a timer of duration d is pending, so advancing
// the clock fires it.
func (c *fakeClock) awaitTimer(t *testing.T, d time.Duration) {
	t.Helper()
	c.wait(t, func() bool { return c.pendingLocked(d) }, func() string {
		return fmt.Sprintf("no %s timer was set within %s", d, waitFor)
	})
}

// pending reports whether a timer of duration d waits to fire.
func (c *fakeClock) pending(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingLocked(d)
}

// pendingLocked is pending, with the clock's lock held.
func (c *fakeClock) pendingLocked(d time.Duration) bool {
	return slices.ContainsFunc(c.timers, func(x *fakeTimer) bool { return x.d == d && !x.stopped && !x.fired })
}

// fakeLauncher starts fake processes that behave as the shim does: a path
// among the tracked files, sent on stdin, makes the process exit 3 to be
// reloaded. Each process keeps what the tracked files held when it
// started: what a Django process imports.
type fakeLauncher struct {
	tracked []string

	board // updated when a process starts
	procs []*fakeProc
	// check, when set, answers CheckPython; it may block.
	check func(ctx context.Context) *protocol.Error
	// afterLoad, when set, runs once a process has read the tracked files,
	// before Start returns: a write there lands right after the process
	// loaded its code.
	afterLoad func(*fakeProc)
	// sockets, when set, gives each process the ready channel the engine
	// made for its spawn, as the real spawn passes it.
	sockets *fakeSockets
}

func newFakeLauncher(tracked ...string) *fakeLauncher {
	return &fakeLauncher{tracked: tracked}
}

func (l *fakeLauncher) CheckPython(ctx context.Context, _, _ string, _ []string) *protocol.Error {
	l.mu.Lock()
	check := l.check
	l.mu.Unlock()
	if check != nil {
		return check(ctx)
	}
	return nil
}

func (l *fakeLauncher) Start(spec supervisor.Spec) (Process, error) {
	return l.startFrom(spec, ""), nil
}

// startFrom starts a process forked from a preloader of level forked, or
// cold if forked is "".
func (l *fakeLauncher) startFrom(spec supervisor.Spec, forked string) *fakeProc {
	p := l.start(spec, forked)
	l.mu.Lock()
	afterLoad := l.afterLoad
	l.mu.Unlock()
	if afterLoad != nil {
		afterLoad(p)
	}
	return p
}

func (l *fakeLauncher) start(spec supervisor.Spec, forked string) *fakeProc {
	var p *fakeProc
	l.update(func() {
		p = &fakeProc{pid: 1000 + len(l.procs), spec: spec, tracked: l.tracked, loaded: map[string]string{},
			ready: make(chan struct{}), done: make(chan struct{}), forked: forked}
		if l.sockets != nil {
			p.readyCh = l.sockets.claim()
		}
		for _, f := range l.tracked {
			b, _ := os.ReadFile(f)
			p.loaded[f] = string(b)
		}
		l.procs = append(l.procs, p)
	})
	return p
}

// started is the number of processes started so far.
func (l *fakeLauncher) started() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.procs)
}

// proc waits for the nth process (1-based) to start, and returns it.
func (l *fakeLauncher) proc(t *testing.T, n int) *fakeProc {
	t.Helper()
	l.wait(t, func() bool { return len(l.procs) >= n }, func() string {
		return fmt.Sprintf("process %d did not start within %s", n, waitFor)
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.procs[n-1]
}

type fakeProc struct {
	pid     int
	spec    supervisor.Spec
	tracked []string
	loaded  map[string]string

	ready     chan struct{}
	readyOnce sync.Once
	done      chan struct{}
	exitOnce  sync.Once
	code      int
	readyCh   *fakeReady // its ready channel, with the live browser's sockets
	forked    string     // the preloader it was forked from ("modules", "setup"), or "" if cold

	mu      sync.Mutex
	sent    []string
	stopped bool
}

func (p *fakeProc) PID() int              { return p.pid }
func (p *fakeProc) Done() <-chan struct{} { return p.done }
func (p *fakeProc) ExitCode() int         { return p.code }

func (p *fakeProc) Send(line string) error {
	select {
	case <-p.done:
		return errors.New("the process has exited")
	default:
	}
	p.mu.Lock()
	p.sent = append(p.sent, line)
	p.mu.Unlock()
	if slices.Contains(p.tracked, line) {
		p.exit(3) // the shim: a watched module changed
	}
	return nil
}

func (p *fakeProc) Stop(time.Duration) {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.exit(-1)
}

func (p *fakeProc) AwaitReady(ctx context.Context, _ portcheck.Address, _ bool) bool {
	select {
	case <-p.ready:
		return true
	case <-p.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// becomeReady makes the server accept connections. With a ready channel
// it says so there, as live.py does, sending the socket it bound unless it
// inherited the engine's.
func (p *fakeProc) becomeReady() {
	p.readyOnce.Do(func() {
		if p.readyCh != nil {
			var sock *os.File
			if !p.inherited() {
				sock, _ = os.Open(os.DevNull) // its listening socket, as far as the engine can tell
			}
			p.readyCh.say(true, sock)
		}
		close(p.ready)
	})
}

// inherited reports whether the process got the engine's kept socket.
func (p *fakeProc) inherited() bool {
	return slices.ContainsFunc(p.spec.Env, func(kv string) bool { return strings.HasPrefix(kv, contract.ListenFDEnv+"=") })
}

// stderr prints line on the process's stderr.
func (p *fakeProc) stderr(line string) { p.spec.OnLine(true, line) }

// exit ends the process with code, once. Its ready channel ends with it.
func (p *fakeProc) exit(code int) {
	p.exitOnce.Do(func() {
		p.code = code
		close(p.done)
		if p.readyCh != nil {
			p.readyCh.say(false, nil)
		}
	})
}

// exited reports whether the process has ended.
func (p *fakeProc) exited() bool { return closed(p.done) }

// isReady reports whether the process accepts connections.
func (p *fakeProc) isReady() bool { return closed(p.ready) }

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (p *fakeProc) wasStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}

func (p *fakeProc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

// fakeProber sees the ports of taken as held by holder.
type fakeProber struct {
	taken  map[int]bool
	holder *protocol.Holder
}

func (f fakeProber) Probe(a portcheck.Address) error {
	if f.taken[a.Port] {
		return &portcheck.BindError{Address: a, Code: protocol.CodePortInUse, Err: errors.New("address already in use")}
	}
	return nil
}

func (f fakeProber) Holder(int) *protocol.Holder { return f.holder }

// rig is an engine on fakes, in a folder with a manage.py.
type rig struct {
	e       *Engine
	rec     *recorder
	clock   *fakeClock
	launch  *fakeLauncher
	pre     *fakePreloaders // given to the engine withPreload
	sockets *fakeSockets    // given to the engine withSockets
	relays  *fakeRelays
	folder  string
	base    map[string]any // the settings it started with
}

// rigOption gives the engine more of the rig's fakes.
type rigOption func(*rig, *Deps)

// withPreload: reloads may fork from the rig's fake preloaders.
func withPreload(r *rig, d *Deps) { d.Preloaders = r.pre }

// withSockets: the live browser runs on the rig's fake sockets.
func withSockets(r *rig, d *Deps) {
	d.Sockets = r.sockets
	r.launch.sockets = r.sockets
}

// newRig starts an engine on fakes. settings are on top of a fast-mode
// default on 127.0.0.1:8000 whose "python" is this test binary (a file
// that exists; the fake launcher never runs it), and which does not watch
// the tracked files.
func newRig(t *testing.T, prober portcheck.Prober, settings map[string]any, tracked ...string) *rig {
	t.Helper()
	return newRigWith(t, nil, prober, settings, tracked...)
}

// newRigWith is newRig, with the fakes of opts: without them every process
// starts cold and binds the address itself.
func newRigWith(t *testing.T, opts []rigOption, prober portcheck.Prober, settings map[string]any, tracked ...string) *rig {
	t.Helper()
	folder, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "manage.py"), []byte("# manage.py\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, f := range tracked {
		tracked[i] = filepath.Join(folder, f)
		if err := os.WriteFile(tracked[i], []byte("v0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The tests report their own writes to the tracked files. The real
	// watcher would report them again, in real time: late enough, a change
	// restarts the quiet period of a storm after a test advanced the clock
	// past it.
	var unwatched []any
	for _, f := range tracked {
		unwatched = append(unwatched, filepath.Base(f))
	}
	all := map[string]any{"python": os.Args[0], "address": "127.0.0.1:8000", "onPortConflict": "fail", "watchExclude": unwatched}
	for k, v := range settings {
		all[k] = v
	}
	s, err := config.Resolve(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if prober == nil {
		prober = fakeProber{}
	}
	r := &rig{rec: newRecorder(), clock: newFakeClock(), launch: newFakeLauncher(tracked...), folder: folder,
		sockets: &fakeSockets{}, relays: &fakeRelays{}, base: all}
	r.pre = &fakePreloaders{launch: r.launch}
	d := Deps{Launcher: r.launch, Prober: prober, Clock: r.clock, Relays: r.relays}
	for _, o := range opts {
		o(r, &d)
	}
	r.e = newEngine("file://"+filepath.ToSlash(folder), folder, r.rec, d)
	// A move outside the state table is a bug: every test on the rig fails on one.
	r.e.badMove = func(err error) { t.Errorf("%v", err) }
	go r.e.loop()
	r.e.SetSettings(s, nil)
	t.Cleanup(r.e.Close)
	return r
}

// running starts the server and makes its first process ready.
func (r *rig) running(t *testing.T) *fakeProc {
	t.Helper()
	from := r.rec.mark()
	if st := r.e.Start(""); st.State != protocol.StateStarting {
		t.Fatalf("start = %s %+v, want starting", st.State, st.Error)
	}
	p := r.launch.proc(t, 1)
	p.becomeReady()
	r.rec.awaitState(t, from, protocol.StateRunning)
	return p
}

// settle waits until the engine has handled what its newest process did:
// its exit (and then what the next process did), or its readiness. A
// process reports both through goroutines of the engine's (the exit
// watcher, AwaitReady) that post to its loop, so a call to the engine that
// returns says nothing of them: the Go scheduler may leave them queued
// while the test and the loop hand the processor to each other, for
// thousands of steps of a fake clock (always, with GOMAXPROCS=1). Without
// this wait, a test that drives time moves on without them.
func (r *rig) settle(t *testing.T) {
	t.Helper()
	for {
		n := r.launch.started()
		p := r.launch.proc(t, n)
		switch {
		case p.exited():
			// Every spawn reports its process, so a status with another
			// pid after one with p's says the engine has left p.
			r.rec.await(t, fmt.Sprintf("the exit of pid %d handled", p.pid), func(r *recorder) bool {
				i := slices.IndexFunc(r.statuses, func(st protocol.Status) bool { return st.PID == p.pid })
				return i >= 0 && r.statuses[len(r.statuses)-1].PID != p.pid
			})
			if r.launch.started() > n {
				continue // the exit started another process
			}
		case p.isReady():
			r.rec.await(t, fmt.Sprintf("pid %d running", p.pid), func(r *recorder) bool {
				return slices.ContainsFunc(r.statuses, func(st protocol.Status) bool {
					return st.State == protocol.StateRunning && st.PID == p.pid
				})
			})
		}
		return
	}
}

// save writes content to path and reports it saved, now; it returns once
// the engine has handled the save.
func (r *rig) save(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	r.e.Changed([]string{path}, protocol.TriggerSave, r.clock.Now())
	r.e.Status()
}

// settingsWith is the rig's settings with changes.
func (r *rig) settingsWith(t *testing.T, changes map[string]any) protocol.Settings {
	t.Helper()
	all := maps.Clone(r.base)
	maps.Copy(all, changes)
	s, err := config.Resolve(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
