// Package debugger owns the backend's side of debugging a server: a relay
// between an editor's debugger and the debugpy adapter of each process
// the server runs, which watches the Debug Adapter Protocol as it passes.
//
// The editor attaches to the relay, never to debugpy's own port. That is
// how the backend knows, for any editor, whether a thread is paused at a
// breakpoint (a save must not kill a process the developer is inspecting),
// and whether the debugger has finished configuring. The relay forwards
// every byte unchanged, in both directions. Its address stays the same for
// the server's life: each new process's adapter becomes its target, so a
// debugger attaches after every reload where it did before.
package debugger

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/django-runserver/django-runserver/server/framing"
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
	// configurationDone, false when it disconnects.
	Attached func(bool)
}

// Relay listens on a loopback port and relays each connection to the
// adapter of the current target.
type Relay struct {
	ln net.Listener

	mu      sync.Mutex
	changed *sync.Cond // signalled when target or closed change
	target  *target    // nil between two processes: connections wait
	conns   map[net.Conn]*target
	closed  bool
	wg      sync.WaitGroup
}

// target is one process's debugpy adapter, and what the relay knows of
// the connections to it.
type target struct {
	addr     string
	ev       Events
	paused   map[int]bool // stopped threads, by id; under Relay.mu
	attached int          // configured connections; under Relay.mu
}

// Listen starts a relay on a free port of 127.0.0.1. Connections wait
// until Target names an adapter.
func Listen() (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the debugger on 127.0.0.1: %w", err)
	}
	r := &Relay{ln: ln, conns: map[net.Conn]*target{}}
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

// Target relays the connections that arrive from now on, and those
// waiting, to the adapter at addr (host:port), reporting on ev.
func (r *Relay) Target(addr string, ev Events) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = &target{addr: addr, ev: ev, paused: map[int]bool{}}
	r.changed.Broadcast()
}

// End ends every relayed connection: the target's process is gone, and
// with it the editor's debug session. Connections that arrive from now on
// wait for the next Target.
func (r *Relay) End() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = nil
	for c := range r.conns {
		c.Close()
	}
}

// Close stops listening and ends every relayed connection. It returns
// once the relay's goroutines are done.
func (r *Relay) Close() {
	r.mu.Lock()
	r.closed = true
	r.target = nil
	for c := range r.conns {
		c.Close()
	}
	r.changed.Broadcast()
	r.mu.Unlock()
	r.ln.Close()
	r.wg.Wait()
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go r.connect(client)
	}
}

// connect relays client to the current target once there is one.
func (r *Relay) connect(client net.Conn) {
	defer r.wg.Done()
	t := r.awaitTarget()
	if t == nil {
		client.Close()
		return
	}
	adapter, err := net.DialTimeout("tcp", t.addr, dialTimeout)
	if err != nil {
		client.Close() // the process is going: the editor sees its session end
		return
	}
	if !r.track(t, client, adapter) {
		return
	}
	r.serve(t, client, adapter)
}

// awaitTarget returns the current target, waiting for one; nil once the
// relay is closed.
func (r *Relay) awaitTarget() *target {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.target == nil && !r.closed {
		r.changed.Wait()
	}
	return r.target
}

// track registers a connection pair of t, unless t is no longer the
// target (its process went while the adapter was dialled) or the relay is
// closed.
func (r *Relay) track(t *target, conns ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.target != t {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		r.conns[c] = t
	}
	return true
}

// conn is what the relay tracks of one editor connection: the requests
// that resume threads, by seq, until their response passes.
type conn struct {
	t          *target
	configured bool
	mu         sync.Mutex
	resuming   map[int]threadBody
}

// serve relays one editor connection to t until either side ends it.
func (r *Relay) serve(t *target, client, adapter net.Conn) {
	c := &conn{t: t, resuming: map[int]threadBody{}}
	var once sync.Once
	end := func() {
		once.Do(func() {
			client.Close()
			adapter.Close()
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A request is noted before it is passed on: its reply may come
		// back at once, on the other goroutine.
		relay(adapter, client, func(m message) { r.fromClient(m, c) }, nil)
		end()
	}()
	relay(client, adapter, nil, func(m message) { r.fromAdapter(m, c) })
	end()
	<-done
	r.mu.Lock()
	delete(r.conns, client)
	delete(r.conns, adapter)
	r.mu.Unlock()
	// A debugger that detaches resumes every thread (debugpy does so on
	// disconnect).
	r.setPaused(t, func(p map[int]bool) { clear(p) })
	if c.configured {
		r.setAttached(t, -1)
	}
}

// message is the part of a DAP message the relay reads.
type message struct {
	Seq        int             `json:"seq"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Type       string          `json:"type"`
	Command    string          `json:"command"`
	Event      string          `json:"event"`
	Arguments  json.RawMessage `json:"arguments"`
	Body       json.RawMessage `json:"body"`
}

// threadBody is the part of a stopped or continued event, or of a
// continue request's arguments, the relay reads.
type threadBody struct {
	ThreadID            int   `json:"threadId"`
	AllThreadsStopped   bool  `json:"allThreadsStopped"`
	AllThreadsContinued *bool `json:"allThreadsContinued"`
	SingleThread        bool  `json:"singleThread"`
}

func (r *Relay) fromClient(m message, c *conn) {
	if m.Type != "request" {
		return
	}
	switch m.Command {
	case "configurationDone":
		if !c.configured {
			c.configured = true
			r.setAttached(c.t, 1)
		}
	case "continue", "next", "stepIn", "stepOut", "stepBack", "reverseContinue", "goto":
		var a threadBody
		_ = json.Unmarshal(m.Arguments, &a)
		c.mu.Lock()
		c.resuming[m.Seq] = a
		c.mu.Unlock()
	}
}

func (r *Relay) fromAdapter(m message, c *conn) {
	if m.Type == "response" {
		// Execution continues once the reply has reached the editor: a
		// change then applied may end the process, and the editor must
		// not lose the reply with it. debugpy resumes every thread unless
		// asked for one alone; a step that ends stops again with its own
		// event.
		c.mu.Lock()
		a, ok := c.resuming[m.RequestSeq]
		delete(c.resuming, m.RequestSeq)
		c.mu.Unlock()
		if ok && m.Success {
			r.setPaused(c.t, func(p map[int]bool) {
				if a.SingleThread {
					delete(p, a.ThreadID)
				} else {
					clear(p)
				}
			})
		}
		return
	}
	if m.Type != "event" {
		return
	}
	var b threadBody
	_ = json.Unmarshal(m.Body, &b)
	switch m.Event {
	case "stopped":
		r.setPaused(c.t, func(p map[int]bool) { p[b.ThreadID] = true })
	case "continued":
		r.setPaused(c.t, func(p map[int]bool) {
			if b.AllThreadsContinued == nil || *b.AllThreadsContinued {
				clear(p)
			} else {
				delete(p, b.ThreadID)
			}
		})
	case "thread":
		var t struct {
			Reason   string `json:"reason"`
			ThreadID int    `json:"threadId"`
		}
		if json.Unmarshal(m.Body, &t) == nil && t.Reason == "exited" {
			r.setPaused(c.t, func(p map[int]bool) { delete(p, t.ThreadID) })
		}
	case "terminated", "exited":
		r.setPaused(c.t, func(p map[int]bool) { clear(p) })
	}
}

// setPaused applies change to t's stopped threads, and reports whether
// any thread is paused when that changes.
func (r *Relay) setPaused(t *target, change func(map[int]bool)) {
	r.mu.Lock()
	was := len(t.paused) > 0
	change(t.paused)
	now := len(t.paused) > 0
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

// relay copies DAP messages from src to dst unchanged, until src ends, a
// message is malformed, or a write fails. Each is shown to before (if any)
// before it is written, and to after (if any) once it is.
func relay(dst io.Writer, src io.Reader, before, after func(message)) {
	fr := framing.NewReader(src, MaxMessage)
	var out []byte
	for {
		header, body, err := fr.Read()
		if err != nil {
			return
		}
		var m message
		parsed := json.Unmarshal(body, &m) == nil
		if parsed && before != nil {
			before(m)
		}
		out = append(append(out[:0], header...), body...)
		if _, err := dst.Write(out); err != nil {
			return
		}
		if parsed && after != nil {
			after(m)
		}
	}
}
