package engine

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/preload"
	"github.com/django-runserver/django-runserver/server/reloader"
)

// The branches of a fast reload that need more than a process: forks from
// the preloaders, the kept socket, the error page on it, and the debugger.
// On the rig's fakes (fakes_more_test.go), without Python.

// reloadOnce saves path and returns the status once the reload's process,
// the nth, serves.
func (r *rig) reloadOnce(t *testing.T, path, content string, n int) protocol.Status {
	t.Helper()
	from := r.rec.mark()
	r.save(t, path, content)
	p := r.launch.proc(t, n)
	p.becomeReady()
	return r.rec.awaitStatus(t, from, fmt.Sprintf("pid %d running", p.pid), func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID == p.pid
	})
}

// A start is cold; a reload forks from the deepest preloader that is
// ready, and says which; one that can't fork says why it started cold.
func TestReloadsForkFromTheDeepestReadyPreloader(t *testing.T) {
	r := newRigWith(t, []rigOption{withPreload}, nil, nil, "views.py")
	views := filepath.Join(r.folder, "views.py")
	p1 := r.running(t)
	if st := r.e.Status(); st.Start != protocol.StartCold || st.ColdReason != "" || p1.forked != "" {
		t.Fatalf("start: %q (%q), forked %q; want cold without a reason", st.Start, st.ColdReason, p1.forked)
	}
	modules := r.pre.nth(t, 1)
	if modules.spec.Setup {
		t.Fatal("the first preloader sets Django up; it should import the modules only")
	}
	if modules.spec.Debug || len(modules.spec.Options) > 0 {
		t.Fatalf("a server without the debugger has a preloader for it: debug %v, options %q", modules.spec.Debug, modules.spec.Options)
	}

	// Still importing: cold, and why.
	st := r.reloadOnce(t, views, "v1\n", 2)
	if st.Start != protocol.StartCold || st.ColdReason != preload.ErrLoading.Error() || r.launch.proc(t, 2).forked != "" {
		t.Errorf("reload while the preloader imports: %q (%q); want cold because %q", st.Start, st.ColdReason, preload.ErrLoading)
	}

	// The modules are preloaded: warm from them, and the second level is
	// built for the process that serves.
	modules.becomeReady()
	setup := r.pre.nth(t, 2)
	if !setup.spec.Setup {
		t.Fatal("the second preloader does not set Django up")
	}
	st = r.reloadOnce(t, views, "v2\n", 3)
	if st.Start != protocol.StartWarm || st.SetUpAhead || st.ColdReason != "" || r.launch.proc(t, 3).forked != "modules" {
		t.Errorf("reload with the modules preloaded: %q, setUpAhead %v (%q); want warm from the modules", st.Start, st.SetUpAhead, st.ColdReason)
	}

	// Django set up ahead: warm from there, and the line says so.
	setup.becomeReady()
	r.rec.await(t, "the set-up preloader's line", func(r *recorder) bool {
		return slices.ContainsFunc(r.messages, func(m Message) bool { return strings.Contains(m.Text, "set Django up ahead") })
	})
	st = r.reloadOnce(t, views, "v3\n", 4)
	if st.Start != protocol.StartWarm || !st.SetUpAhead || r.launch.proc(t, 4).forked != "setup" {
		t.Errorf("reload with Django set up ahead: %q, setUpAhead %v; want warm, set up ahead", st.Start, st.SetUpAhead)
	}
	for _, want := range []string{"reloaded in 0 ms (warm)", "reloaded in 0 ms (warm, Django set up ahead)"} {
		r.rec.await(t, "a line that says "+want, func(r *recorder) bool {
			return slices.ContainsFunc(r.messages, func(m Message) bool { return strings.Contains(m.Text, want) })
		})
	}

	// The environment changed: the preloaders no longer fit.
	r.e.SetSettings(r.settingsWith(t, map[string]any{"env": map[string]any{"FEATURE": "1"}}), nil)
	st = r.reloadOnce(t, views, "v4\n", 5)
	if want := "the interpreter, environment or arguments changed since the preloader started"; st.Start != protocol.StartCold || st.ColdReason != want {
		t.Errorf("reload after an environment change: %q (%q); want cold because %q", st.Start, st.ColdReason, want)
	}
	if !setup.retired.Load() {
		t.Error("the set-up preloader of the old environment was not retired")
	}
}

// The first process binds the address and sends its socket, which the
// engine keeps; a reload inherits it, with no probe, which would only find
// the engine itself. A stop closes it.
func TestReloadInheritsTheKeptSocket(t *testing.T) {
	prober := &countingProber{}
	r := newRigWith(t, []rigOption{withSockets}, prober, nil, "views.py")
	p1 := r.running(t)
	if !hasEnv(p1.spec.Env, contract.ReadyFDEnv) || p1.inherited() {
		t.Fatalf("first process env %q: want a ready channel and no socket to inherit", p1.spec.Env)
	}
	r.sockets.await(t, "the first process's socket kept", func() bool { return len(r.sockets.kept) == 1 })
	if st := r.e.Status(); !st.BrowserReload {
		t.Error("status: browserReload is off; the live browser runs")
	}
	probes := prober.n.Load()
	if probes != 1 {
		t.Fatalf("%d probes before the first spawn, want 1", probes)
	}

	r.reloadOnce(t, filepath.Join(r.folder, "views.py"), "v1\n", 2)
	p2 := r.launch.proc(t, 2)
	if !p2.inherited() || !hasEnv(p2.spec.Env, contract.ReadyFDEnv) {
		t.Errorf("reload's env %q: want the kept socket and a ready channel", p2.spec.Env)
	}
	if n := prober.n.Load(); n != probes {
		t.Errorf("the reload probed the address the engine holds (%d probes, want %d)", n, probes)
	}
	if got, want := r.sockets.log(), []string{"adopt 127.0.0.1:8000", "pause", "inherit"}; !slices.Equal(got, want) {
		t.Errorf("sockets: %q, want %q", got, want)
	}

	<-r.e.Stop()
	if got := r.sockets.log(); got[len(got)-1] != "close" || len(r.sockets.kept) != 1 {
		t.Errorf("after the stop, sockets: %q; want the one kept socket closed", got)
	}
}

// A crash while running: the error page answers on the kept socket by the
// time the status says failed, and the retry's spawn pauses it before its
// process inherits the socket.
func TestErrorPageIsServedOnTheKeptSocketUntilTheNextSpawn(t *testing.T) {
	r := newRigWith(t, []rigOption{withSockets}, nil, nil)
	p1 := r.running(t)
	r.sockets.await(t, "the socket kept", func() bool { return len(r.sockets.kept) == 1 })
	kept := r.sockets.kept[0]

	from := r.rec.mark()
	p1.exit(1)
	failed := r.rec.awaitState(t, from, protocol.StateFailed)
	page := kept.served()
	if page == nil {
		t.Fatalf("failed (%s), and the kept socket serves nothing; sockets: %q", failed.Error.Message, r.sockets.log())
	}
	w := httptest.NewRecorder()
	page.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 503 || !strings.Contains(w.Body.String(), "exited with status 1 while running") {
		t.Errorf("error page: %d %q", w.Code, w.Body.String())
	}

	r.clock.awaitTimer(t, crashBackoff)
	r.clock.Advance(crashBackoff)
	p2 := r.launch.proc(t, 2)
	if kept.served() != nil || !p2.inherited() {
		t.Errorf("the retry's process inherited %v while the page is served: %v", p2.inherited(), kept.served() != nil)
	}
	if got, want := r.sockets.log(), []string{"adopt 127.0.0.1:8000", "pause", "serve", "pause", "inherit"}; !slices.Equal(got, want) {
		t.Errorf("sockets: %q, want %q", got, want)
	}
}

// A first start that fails before serving: the engine binds the address
// for the page; the next spawn closes that socket and its process binds
// the address as a first one does, after a probe.
func TestErrorPageBeforeAnyProcessServed(t *testing.T) {
	prober := &countingProber{}
	r := newRigWith(t, []rigOption{withSockets}, prober, nil, "views.py")
	from := r.rec.mark()
	r.e.Start("")
	r.launch.proc(t, 1).exit(1)
	r.rec.awaitState(t, from, protocol.StateFailed)
	if got := r.sockets.log(); !slices.Equal(got, []string{"listen 127.0.0.1:8000", "pause", "serve"}) || r.sockets.kept[0].served() == nil {
		t.Fatalf("sockets: %q; want the address bound for the page, which it serves", got)
	}
	r.save(t, filepath.Join(r.folder, "views.py"), "v1\n")
	p2 := r.launch.proc(t, 2)
	if p2.inherited() || prober.n.Load() != 2 || !r.sockets.kept[0].closed {
		t.Errorf("retry: inherited %v, %d probes, page socket closed %v; want a first process's bind after a probe",
			p2.inherited(), prober.n.Load(), r.sockets.kept[0].closed)
	}
}

// While a thread is paused in the debugger a change is held (a reload
// would kill the process under the developer); continuing sends it, and
// a restart applies at once.
func TestPausedDebuggerHoldsTheReload(t *testing.T) {
	r := newRig(t, nil, nil, "views.py")
	views := filepath.Join(r.folder, "views.py")
	from := r.rec.mark()
	if st := r.e.Debug("", DebugAttachWait); st.State != protocol.StateStarting {
		t.Fatalf("debug = %s %+v", st.State, st.Error)
	}
	p1 := r.launch.proc(t, 1)
	relay := r.debugged(t, p1, 1)
	r.rec.awaitState(t, from, protocol.StateRunning)

	relay.ev.Paused(true)
	r.rec.awaitStatus(t, from, "paused", func(st protocol.Status) bool { return st.Debug != nil && st.Debug.Paused })
	r.save(t, views, "v1\n")
	r.rec.awaitStatus(t, from, "a pending reload", func(st protocol.Status) bool { return st.Debug != nil && st.Debug.ReloadPending })
	if len(p1.lines()) > 1 || r.launch.started() != 1 { // the line after ready is the shim's cue, ""
		t.Fatalf("while paused the process got %q, %d processes", p1.lines(), r.launch.started())
	}

	relay.ev.Paused(false)
	p2 := r.launch.proc(t, 2)
	if !slices.Contains(p1.lines(), views) || p2.loaded[views] != "v1\n" {
		t.Errorf("on continue: the process got %q; the next loaded %q", p1.lines(), p2.loaded[views])
	}
	if !strings.Contains(r.rec.texts(), "execution continued: applying the pending reload") {
		t.Errorf("messages: %s", r.rec.texts())
	}
	relay2 := r.debugged(t, p2, 2)
	r.settle(t)

	from = r.rec.mark()
	relay2.ev.Paused(true)
	r.save(t, views, "v2\n")
	r.rec.awaitStatus(t, from, "a pending reload", func(st protocol.Status) bool { return st.Debug != nil && st.Debug.ReloadPending })
	if st := r.e.Restart(); st.State != protocol.StateReloading {
		t.Fatalf("restart = %s", st.State)
	}
	p3 := r.launch.proc(t, 3)
	if !p2.wasStopped() || p3.loaded[views] != "v2\n" {
		t.Errorf("restart: old stopped %v, new process loaded %q; want it at once, with the held change", p2.wasStopped(), p3.loaded[views])
	}
	r.relays.await(t, "the relay to leave the stopped process", func() bool { return relay2.ended })
	relay3 := r.debugged(t, p3, 3)
	running := r.rec.awaitStatus(t, from, "the restarted process running", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID == p3.pid
	})
	// One address for the server's life, said once; the bootstrap's own
	// line is the engine's to read, not shown.
	if relay2.relay != relay.relay || relay3.relay != relay.relay || running.Debug == nil || running.Debug.Port != relay.relay.port {
		t.Errorf("the debugger's address changed across reloads: status %+v", running.Debug)
	}
	if texts := r.rec.texts(); strings.Count(texts, "debugger: attach once to 127.0.0.1:40000") != 1 || strings.Contains(texts, "debugpy adapter listening") {
		t.Errorf("want one line that says where to attach, and no bootstrap line: %s", texts)
	}
	if running.Debug == nil || running.Debug.Paused || running.Debug.ReloadPending {
		t.Errorf("after the restart: debug %+v; want neither paused nor a pending reload", running.Debug)
	}
}

// debugged makes p's debugpy adapter listen, waits for the relay's nth
// target, and makes p serve.
// A server under the debugger has preloaders for it: with the
// bootstrap's interpreter options, and importing what debugpy.listen
// imports, so no warm reload pays for it. Both levels.
func TestDebuggedServersPreloadTheDebugger(t *testing.T) {
	r := newRigWith(t, []rigOption{withPreload}, nil, nil, "views.py")
	from := r.rec.mark()
	if st := r.e.Debug("", DebugAttachWait); st.State != protocol.StateStarting {
		t.Fatalf("debug = %s %+v", st.State, st.Error)
	}
	r.debugged(t, r.launch.proc(t, 1), 1)
	r.rec.awaitState(t, from, protocol.StateRunning)
	modules := r.pre.nth(t, 1)
	modules.becomeReady()
	for _, p := range []*fakePreloader{modules, r.pre.nth(t, 2)} {
		if !p.spec.Debug || !slices.Equal(p.spec.Options, reloader.DebugOptions) {
			t.Errorf("preloader (set up: %v) under the debugger: debug %v, options %q; want debug, options %q",
				p.spec.Setup, p.spec.Debug, p.spec.Options, reloader.DebugOptions)
		}
	}
}

func (r *rig) debugged(t *testing.T, p *fakeProc, n int) *fakeTarget {
	t.Helper()
	p.stderr("django-runserver: debugpy adapter listening on 127.0.0.1:5678")
	relay := r.relays.nth(t, n)
	if relay.target != "127.0.0.1:5678" {
		t.Errorf("relay to %q", relay.target)
	}
	p.becomeReady()
	return relay
}

func hasEnv(env []string, name string) bool {
	return slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}

// When no debugger came, one message says so and where to attach; the
// bootstrap's own line is read, not shown, and the next process does not
// wait.
func TestNoDebuggerCameIsOneMessage(t *testing.T) {
	r := newRig(t, nil, nil, "views.py")
	from := r.rec.mark()
	r.e.Debug("", DebugAttachWait)
	p1 := r.launch.proc(t, 1)
	r.debugged(t, p1, 1)
	r.rec.awaitState(t, from, protocol.StateRunning)
	p1.stderr("django-runserver: no debugger attached within 15 s")
	r.rec.await(t, "the warning", func(rec *recorder) bool {
		return slices.ContainsFunc(rec.messages, func(m Message) bool { return strings.Contains(m.Text, "No debugger attached") })
	})
	texts := r.rec.texts()
	if strings.Count(texts, "No debugger attached") != 1 || !strings.Contains(texts, "Attach to 127.0.0.1:40000") || strings.Contains(texts, "django-runserver: no debugger") {
		t.Errorf("want one message that no debugger came, with the address: %s", texts)
	}
	r.save(t, filepath.Join(r.folder, "views.py"), "v1\n")
	p2 := r.launch.proc(t, 2)
	if !slices.Contains(p2.spec.Env, contract.DebugWaitEnv+"=0") {
		t.Errorf("after no debugger came, the next process waits: %q", p2.spec.Env)
	}
}

// A reload waits for the debugger only while one is attached to the
// relay: its session follows the new process, which serves once the
// breakpoints are replayed. Once the developer detached, nobody attaches
// because of a reload: the next process serves at once.
func TestReloadWaitsOnlyForAnAttachedDebugger(t *testing.T) {
	r := newRig(t, nil, nil, "views.py")
	views := filepath.Join(r.folder, "views.py")
	from := r.rec.mark()
	r.e.Debug("", DebugAttachWait)
	p1 := r.launch.proc(t, 1)
	relay := r.debugged(t, p1, 1)
	r.rec.awaitState(t, from, protocol.StateRunning)
	r.relays.update(func() { relay.relay.sessions = 1 })
	relay.ev.Attached(true)
	r.save(t, views, "v1\n")
	p2 := r.launch.proc(t, 2)
	waits := contract.DebugWaitEnv + "=" + reloader.DebugEnv(DebugAttachWait)[contract.DebugWaitEnv]
	if !slices.Contains(p2.spec.Env, waits) {
		t.Errorf("with a debugger attached, the reload does not wait for its breakpoints (%s): %q", waits, p2.spec.Env)
	}
	from = r.rec.mark()
	r.debugged(t, p2, 2)
	r.rec.awaitStatus(t, from, "the reload running", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID == p2.pid
	})
	r.relays.update(func() { relay.relay.sessions = 0 }) // the developer detached
	r.save(t, views, "v2, detached\n")
	p3 := r.launch.proc(t, 3)
	if !slices.Contains(p3.spec.Env, contract.DebugWaitEnv+"=0") {
		t.Errorf("with no debugger attached, the reload waits for one: %q", p3.spec.Env)
	}
}
