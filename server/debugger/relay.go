// Package debugger owns the backend's side of debugging a server: a relay
// between an editor's debugger and the debugpy adapter of each process
// the server runs, which watches the Debug Adapter Protocol as it passes.
//
// The editor attaches to the relay, never to debugpy's own port. That is
// how the backend knows, for any editor, whether a thread is paused at a
// breakpoint (a save must not kill a process the developer is inspecting),
// and whether the debugger has finished configuring. Its address stays the
// same for the server's life, and so does the editor's session on it: each
// new process's adapter becomes its target, and the relay joins it to the
// sessions already attached by replaying what each editor configured
// (session.go). Apart from that, and the seq numbers of what reaches the
// editor (renumbered so they stay monotonic across processes), every
// message passes unchanged.
package debugger

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// MaxMessage bounds one DAP message: a variables reply on a huge object is
// large, but not this large.
const MaxMessage = 256 << 20

// dialTimeout bounds the connection to debugpy's adapter on loopback.
const dialTimeout = 5 * time.Second

// Events is what a relay reports of one target's connections. Each
// callback runs on a relay goroutine.
type Events struct {
	// Paused reports a change: true once a thread stops (at a breakpoint,
	// a step, an exception, a pause), false once every thread runs again
	// or the debugger detaches.
	Paused func(bool)
	// Attached reports a change: true once a debugger has sent
	// configurationDone (the editor's own, or the relay's replay of it),
	// false when it disconnects or the process goes.
	Attached func(bool)
}

// Relay listens on a loopback port and joins each editor's session to the
// adapter of the current target.
type Relay struct {
	ln net.Listener

	mu       sync.Mutex
	changed  *sync.Cond // signalled when target, closed or a session's end change
	target   *target    // nil between two processes: sessions wait
	sessions map[*session]bool
	closed   bool
	wg       sync.WaitGroup
}

// target is one process's debugpy adapter, and what the relay knows of
// the sessions joined to it.
type target struct {
	addr     string
	ev       Events
	paused   int // legs with a stopped thread; under Relay.mu
	attached int // configured legs; under Relay.mu
}

// Listen starts a relay on a free port of 127.0.0.1. Sessions wait until
// Target names an adapter.
func Listen() (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the debugger on 127.0.0.1: %w", err)
	}
	r := &Relay{ln: ln, sessions: map[*session]bool{}}
	r.changed = sync.NewCond(&r.mu)
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is where an editor attaches.
func (r *Relay) Addr() (host string, port int) {
	a := r.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// Sessions is how many editors' sessions are on the relay: attached, or
// waiting for a process to attach to.
func (r *Relay) Sessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Target joins every session, those attached and those to come, to the
// adapter at addr (host:port), reporting on ev.
func (r *Relay) Target(addr string, ev Events) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = &target{addr: addr, ev: ev}
	r.changed.Broadcast()
}

// End leaves the target, whose process is gone: each session's connection
// to its adapter closes, the editor hears that the process's threads
// exited, and the session waits, attached, for the next Target.
func (r *Relay) End() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = nil
	for s := range r.sessions {
		s.leave()
	}
	r.changed.Broadcast()
}

// Close stops listening and ends every session (the editor hears
// terminated). It returns once the relay's goroutines are done.
func (r *Relay) Close() {
	r.mu.Lock()
	r.closed = true
	r.target = nil
	sessions := make([]*session, 0, len(r.sessions))
	for s := range r.sessions {
		sessions = append(sessions, s)
	}
	r.changed.Broadcast()
	r.mu.Unlock()
	r.ln.Close()
	for _, s := range sessions {
		s.terminate()
	}
	r.wg.Wait()
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		s := newSession(r, client)
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			client.Close()
			return
		}
		r.sessions[s] = true
		r.mu.Unlock()
		r.wg.Add(2)
		go func() { defer r.wg.Done(); s.readEditor() }()
		go func() { defer r.wg.Done(); s.follow() }()
	}
}

// nextTarget waits for a target other than last, and returns it; nil once
// the relay is closed or s has ended.
func (r *Relay) nextTarget(s *session, last *target) *target {
	r.mu.Lock()
	defer r.mu.Unlock()
	for !r.closed && !s.ended && (r.target == nil || r.target == last) {
		r.changed.Wait()
	}
	if r.closed || s.ended {
		return nil
	}
	return r.target
}

// join makes l s's leg, unless l's target is no longer the target (its
// process went while the adapter was dialled), or s or the relay ended.
func (r *Relay) join(s *session, l *leg) bool {
	r.mu.Lock()
	if r.closed || s.ended || r.target != l.t {
		r.mu.Unlock()
		return false
	}
	s.cur.Store(l) // from now on End and Close reach it
	r.mu.Unlock()
	s.mu.Lock()
	s.leg = l
	s.mu.Unlock()
	return true
}

// forget drops an ended session.
func (r *Relay) forget(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.ended = true
	delete(r.sessions, s)
	r.changed.Broadcast()
}

// setPaused applies change to l's stopped threads, and reports whether
// any thread of l's target is paused when that changes.
func (r *Relay) setPaused(l *leg, change func(map[int]bool)) {
	t := l.t
	r.mu.Lock()
	was, legWas := t.paused > 0, len(l.stopped) > 0
	change(l.stopped)
	if legNow := len(l.stopped) > 0; legNow != legWas {
		if legNow {
			t.paused++
		} else {
			t.paused--
		}
	}
	now := t.paused > 0
	r.mu.Unlock()
	if was != now && t.ev.Paused != nil {
		t.ev.Paused(now)
	}
}

func (r *Relay) setAttached(t *target, delta int) {
	r.mu.Lock()
	was := t.attached > 0
	t.attached += delta
	now := t.attached > 0
	r.mu.Unlock()
	if was != now && t.ev.Attached != nil {
		t.ev.Attached(now)
	}
}
