package engine

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/debugger"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/preload"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// The fakes of what a fast reload uses beyond starting a process: the
// preloaders, the live browser's sockets and the debugger's relay. Each
// keeps what the engine did with it on a board that tests wait on.

// fakePreloaders start preloaders whose forks are the launcher's fake
// processes.
type fakePreloaders struct {
	board
	launch  *fakeLauncher
	started []*fakePreloader
}

func (f *fakePreloaders) Start(s preload.Spec) (Preloader, error) {
	var p *fakePreloader
	f.update(func() {
		p = &fakePreloader{f: f, spec: s, pid: 2000 + len(f.started), ready: make(chan struct{}), done: make(chan struct{})}
		f.started = append(f.started, p)
	})
	return p, nil
}

// nth waits for the nth preloader (1-based) to start, and returns it.
func (f *fakePreloaders) nth(t *testing.T, n int) *fakePreloader {
	t.Helper()
	return awaitNth(t, &f.board, "preloader", &f.started, n)
}

// awaitNth waits until the list on b holds n items, and returns the nth
// (1-based).
func awaitNth[T any](t *testing.T, b *board, what string, list *[]T, n int) T {
	t.Helper()
	var got T
	b.await(t, fmt.Sprintf("%s %d", what, n), func() bool {
		ok := len(*list) >= n
		if ok {
			got = (*list)[n-1]
		}
		return ok
	})
	return got
}

type fakePreloader struct {
	f         *fakePreloaders
	spec      preload.Spec
	pid       int
	ready     chan struct{}
	done      chan struct{}
	endOnce   sync.Once
	readyOnce sync.Once
	err       error
	retired   atomic.Bool
}

func (p *fakePreloader) PID() int               { return p.pid }
func (p *fakePreloader) Ready() <-chan struct{} { return p.ready }
func (p *fakePreloader) Err() error             { return p.err }
func (p *fakePreloader) Advice() string         { return "" }
func (p *fakePreloader) Imported() int          { return 42 }
func (p *fakePreloader) Done() <-chan struct{}  { return p.done }

// becomeReady: it has imported, and forks.
func (p *fakePreloader) becomeReady() { p.readyOnce.Do(func() { close(p.ready) }) }

func (p *fakePreloader) Fork(spec supervisor.Spec) (Process, error) {
	select {
	case <-p.done:
		return nil, errors.New("the preloader has exited")
	case <-p.ready:
	default:
		return nil, preload.ErrLoading
	}
	level := "modules"
	if p.spec.Setup {
		level = "setup"
	}
	return p.f.launch.startFrom(spec, level), nil
}

// Retire and Kill end it; one never ready ends its Ready too, with an
// error, as a preloader's exit does.
func (p *fakePreloader) Retire() { p.retired.Store(true); p.end() }
func (p *fakePreloader) Kill()   { p.end() }

func (p *fakePreloader) end() {
	p.endOnce.Do(func() {
		p.readyOnce.Do(func() {
			p.err = errors.New("the preloader exited")
			close(p.ready)
		})
		close(p.done)
	})
}

// fakeSockets are the live browser's sockets, without sockets: they record
// what the engine did with them, in events.
type fakeSockets struct {
	board
	readies []*fakeReady
	claimed int
	kept    []*fakeKept
	events  []string
}

func (s *fakeSockets) NewReady() (ReadyChannel, error) {
	r := &fakeReady{word: make(chan readyWord, 1)}
	s.update(func() { s.readies = append(s.readies, r) })
	return r, nil
}

// claim is the ready channel of the process being started: the latest one
// made, which the engine makes just before the start.
func (s *fakeSockets) claim() *fakeReady {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimed == len(s.readies) {
		return nil
	}
	s.claimed = len(s.readies)
	return s.readies[s.claimed-1]
}

func (s *fakeSockets) Listen(a portcheck.Address) (KeptSocket, error) {
	return s.keep(a, "listen"), nil
}

func (s *fakeSockets) Adopt(a portcheck.Address, sock *os.File) (KeptSocket, error) {
	sock.Close()
	return s.keep(a, "adopt"), nil
}

func (s *fakeSockets) keep(a portcheck.Address, how string) *fakeKept {
	k := &fakeKept{s: s, addr: a}
	s.update(func() {
		s.kept = append(s.kept, k)
		s.events = append(s.events, how+" "+a.String())
	})
	return k
}

// log is a copy of the events.
func (s *fakeSockets) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

type readyWord struct {
	ok   bool
	sock *os.File
}

// fakeReady is a process's ready channel: its first word counts.
type fakeReady struct {
	once sync.Once
	word chan readyWord
}

func (r *fakeReady) Child() *os.File { return nil }
func (r *fakeReady) Spawned()        {}
func (r *fakeReady) Close()          { r.say(false, nil) }
func (r *fakeReady) Wait() (bool, *os.File) {
	w := <-r.word
	return w.ok, w.sock
}

func (r *fakeReady) say(ok bool, sock *os.File) {
	r.once.Do(func() { r.word <- readyWord{ok, sock} })
}

// fakeKept is a kept socket.
type fakeKept struct {
	s      *fakeSockets
	addr   portcheck.Address
	page   http.Handler // what it serves, until paused
	closed bool
}

func (k *fakeKept) event(e string, f func()) {
	k.s.update(func() {
		f()
		k.s.events = append(k.s.events, e)
	})
}

func (k *fakeKept) Address() portcheck.Address { return k.addr }
func (k *fakeKept) Pause()                     { k.event("pause", func() { k.page = nil }) }
func (k *fakeKept) Serve(h http.Handler) error { k.event("serve", func() { k.page = h }); return nil }
func (k *fakeKept) Close() error               { k.event("close", func() { k.closed = true }); return nil }
func (k *fakeKept) Inherit(extra []*os.File) ([]*os.File, string) {
	k.event("inherit", func() {})
	return append(extra, nil), contract.ListenFDEnv + "=4"
}

// served is what the socket serves now, or nil.
func (k *fakeKept) served() http.Handler {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	return k.page
}

// fakeRelays start relays whose events the test sends.
type fakeRelays struct {
	board
	relays  []*fakeRelay
	targets []*fakeTarget // of every relay, in order
}

func (f *fakeRelays) Listen() (Relay, error) {
	var r *fakeRelay
	f.update(func() {
		r = &fakeRelay{f: f, port: 40000 + len(f.relays)}
		f.relays = append(f.relays, r)
	})
	return r, nil
}

// nth waits for the nth target (1-based) of any relay: the nth process
// whose debugpy listens.
func (f *fakeRelays) nth(t *testing.T, n int) *fakeTarget {
	t.Helper()
	return awaitNth(t, &f.board, "debugger target", &f.targets, n)
}

type fakeRelay struct {
	f        *fakeRelays
	port     int
	closed   bool // on f's board
	sessions int  // debuggers attached, as the test sets it; on f's board
}

// fakeTarget is one process's adapter, as the relay was told it.
type fakeTarget struct {
	relay  *fakeRelay
	target string
	ev     debugger.Events
	ended  bool // on the board: the relay left its process
}

func (r *fakeRelay) Addr() (string, int) { return "127.0.0.1", r.port }
func (r *fakeRelay) Sessions() (n int) {
	r.f.update(func() { n = r.sessions })
	return n
}
func (r *fakeRelay) Close() { r.f.update(func() { r.closed = true }) }
func (r *fakeRelay) Target(addr string, ev debugger.Events) {
	r.f.update(func() { r.f.targets = append(r.f.targets, &fakeTarget{relay: r, target: addr, ev: ev}) })
}
func (r *fakeRelay) End() {
	r.f.update(func() {
		for _, t := range r.f.targets {
			if t.relay == r {
				t.ended = true
			}
		}
	})
}

// countingProber finds every port free, and counts its probes.
type countingProber struct{ n atomic.Int32 }

func (p *countingProber) Probe(portcheck.Address) error { p.n.Add(1); return nil }
func (p *countingProber) Holder(int) *protocol.Holder   { return nil }
