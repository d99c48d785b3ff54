package debugger

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ownSeqBase numbers the requests the relay sends an adapter itself when
// it replays a session: far above any seq an editor reaches, so the
// adapter's replies tell the relay's requests from the editor's.
const ownSeqBase = 1 << 30

// replayTimeout bounds each reply the relay waits for while it replays a
// session to a new process's adapter.
const replayTimeout = 30 * time.Second

// replacedText answers the editor's requests the process that went left
// unanswered.
const replacedText = "The server's process went (a reload replaced it, or the server stopped) before its debugger answered. The debug session goes on with the next process: ask again."

// errLeft says a leg's adapter went while the relay replayed to it.
var errLeft = errors.New("the process's debugpy adapter went")

// session is one editor's debug session: it outlives each process, and
// joins each new process's adapter as a leg.
type session struct {
	r      *Relay
	client net.Conn

	wmu sync.Mutex // serialises writes to the editor, in seq order
	seq int        // the last seq the editor was sent; under wmu

	// cur is leg, for what must close it without waiting for mu: the
	// relay's End, under Relay.mu, in the engine's loop.
	cur atomic.Pointer[leg]

	mu             sync.Mutex
	leg            *leg     // the current process's adapter; nil between processes
	queue          []queued // the editor's messages that wait for a ready leg
	cfg            config   // what the editor configured, to replay to each new process
	sawInitialized bool     // the editor was sent an initialized event
	disconnecting  bool     // the editor sent disconnect: its session ends with the reply
	ownSeq         int

	ended bool // under Relay.mu
}

// queued is one message of the editor's.
type queued struct {
	header, body []byte
	m            message
}

// config is what an editor sent an adapter to configure its session, the
// latest of each, as a new process's adapter is sent it again.
type config struct {
	initialize, attach   json.RawMessage
	breakpoints          map[string]json.RawMessage // setBreakpoints' arguments, by source
	sources              []string                   // breakpoints' keys, in the order first set
	functionBreakpoints  json.RawMessage
	exceptionBreakpoints json.RawMessage
	configured           bool // configurationDone was sent
}

// leg is a session's connection to one process's adapter.
type leg struct {
	t           *target
	conn        net.Conn
	replayed    bool          // the relay replayed the session to this adapter
	initialized chan struct{} // closed when the adapter's initialized event is swallowed
	done        chan struct{} // closed once the adapter's connection has ended

	// Under session.mu:
	ready      bool                  // replayed: the editor's messages go straight to the adapter
	configured bool                  // configurationDone was sent
	pending    map[int]string        // the editor's requests awaiting their reply: command by seq
	resuming   map[int]threadBody    // requests that resume threads, by seq, until their reply
	replies    map[int]chan message  // the relay's own requests, by seq
	awaited    map[int]chan struct{} // the editor's requests the replay waits for, by seq
	threads    map[int]bool          // the process's threads the editor heard of
	reverse    map[int]int           // the adapter's requests: its seq by the editor's

	stopped map[int]bool // stopped threads; under Relay.mu
}

func newSession(r *Relay, client net.Conn) *session {
	return &session{r: r, client: client, cfg: config{breakpoints: map[string]json.RawMessage{}}}
}

// readEditor passes the editor's messages on until it ends its connection.
func (s *session) readEditor() {
	readMessages(s.client, func(header, body []byte, m message) {
		s.fromEditor(queued{slices.Clone(header), slices.Clone(body), m})
	})
	s.end()
}

func (s *session) fromEditor(q queued) {
	s.mu.Lock()
	l := s.leg
	if l == nil && q.m.Type == "request" && q.m.Command == "disconnect" {
		// No process to detach from: the session just ends.
		s.mu.Unlock()
		s.send(newMessage(map[string]any{"type": "response", "request_seq": q.m.Seq, "command": "disconnect", "success": true}))
		s.end()
		return
	}
	if l == nil || !l.ready {
		s.queue = append(s.queue, q)
		s.mu.Unlock()
		return
	}
	after := s.forward(l, q)
	s.mu.Unlock()
	after()
}

// forward sends an editor's message to l's adapter, under s.mu. What it
// returns runs once s.mu is released.
func (s *session) forward(l *leg, q queued) (after func()) {
	after = func() {}
	m := q.m
	switch m.Type {
	case "request":
		// Noted before it is passed on: the reply may come back at once.
		s.cfg.record(m)
		l.pending[m.Seq] = m.Command
		switch m.Command {
		case "configurationDone":
			if !l.configured {
				l.configured = true
				after = func() { s.r.setAttached(l.t, 1) }
			}
		case "continue", "next", "stepIn", "stepOut", "stepBack", "reverseContinue", "goto":
			var a threadBody
			_ = json.Unmarshal(m.Arguments, &a)
			l.resuming[m.Seq] = a
		case "disconnect":
			s.disconnecting = true
		}
	case "response":
		if seq, ok := l.reverse[m.RequestSeq]; ok {
			delete(l.reverse, m.RequestSeq)
			_ = writeFrame(l.conn, withNumber(q.body, "request_seq", seq))
			return after
		}
	}
	if _, err := l.conn.Write(append(q.header, q.body...)); err != nil {
		l.conn.Close() // the leg ends; its reader answers what is pending
	}
	return after
}

// record notes what m configures.
func (c *config) record(m message) {
	switch m.Command {
	case "initialize":
		c.initialize = m.Arguments
	case "attach":
		c.attach = m.Arguments
	case "setBreakpoints":
		key := sourceKey(m.Arguments)
		if key == "" {
			return // a sourceReference alone names a source of one process only
		}
		if _, ok := c.breakpoints[key]; !ok {
			c.sources = append(c.sources, key)
		}
		c.breakpoints[key] = m.Arguments
	case "setFunctionBreakpoints":
		c.functionBreakpoints = m.Arguments
	case "setExceptionBreakpoints":
		c.exceptionBreakpoints = m.Arguments
	case "configurationDone":
		c.configured = true
	}
}

// sourceKey names the source of setBreakpoints' arguments by its path,
// else its name.
func sourceKey(args json.RawMessage) string {
	var a struct {
		Source struct {
			Path string `json:"path"`
			Name string `json:"name"`
		} `json:"source"`
	}
	_ = json.Unmarshal(args, &a)
	if a.Source.Path != "" {
		return a.Source.Path
	}
	return a.Source.Name
}

// configures reports whether m is one of the editor's requests that
// configure breakpoints, which the relay replays.
func configures(m message) bool {
	if m.Type != "request" {
		return false
	}
	switch m.Command {
	case "setBreakpoints", "setFunctionBreakpoints", "setExceptionBreakpoints":
		return true
	}
	return false
}

// follow joins each new target, for the session's life.
func (s *session) follow() {
	var last *target
	for {
		t := s.r.nextTarget(s, last)
		if t == nil {
			return
		}
		last = t
		s.join(t)
	}
}

// join connects the session to t's adapter and relays until that
// connection ends.
func (s *session) join(t *target) {
	conn, err := net.DialTimeout("tcp", t.addr, dialTimeout)
	if err != nil {
		return // the process is going: the session waits for the next
	}
	l := &leg{t: t, conn: conn, initialized: make(chan struct{}), done: make(chan struct{}),
		pending: map[int]string{}, resuming: map[int]threadBody{}, replies: map[int]chan message{}, awaited: map[int]chan struct{}{},
		threads: map[int]bool{}, reverse: map[int]int{}, stopped: map[int]bool{}}
	s.mu.Lock()
	l.replayed = s.cfg.initialize != nil
	s.mu.Unlock()
	if !s.r.join(s, l) {
		conn.Close()
		return
	}
	s.r.wg.Add(1)
	go func() { defer s.r.wg.Done(); s.prepare(l) }()
	s.readAdapter(l)
	s.left(l)
}

// prepare replays the session to l's adapter, then lets the editor's
// messages through, those that waited first.
func (s *session) prepare(l *leg) {
	if err := s.replay(l); err != nil {
		if !errors.Is(err, errLeft) {
			s.send(event("output", map[string]any{"category": "console",
				"output": fmt.Sprintf("The debugger could not join the server's new process: %v. Its breakpoints are not set there; the session goes on with the next process.\n", err)}))
		}
		l.conn.Close()
		return
	}
	s.mu.Lock()
	if s.leg != l {
		s.mu.Unlock()
		return // gone already: what waits, waits for the next
	}
	l.ready = true
	var afters []func()
	for _, q := range s.queue {
		afters = append(afters, s.forward(l, q))
	}
	s.queue = nil
	s.mu.Unlock()
	for _, f := range afters {
		f()
	}
}

// replay sends a new process's adapter what the editor sent the first
// one: initialize, attach, the breakpoints once it says initialized, and
// configurationDone. The replies are the relay's, and so is the second
// initialized event: the editor sees one session go on.
func (s *session) replay(l *leg) error {
	s.mu.Lock()
	cfg, saw := s.cfg, s.sawInitialized
	s.mu.Unlock()
	if cfg.initialize == nil {
		return nil // the editor's own handshake goes to this adapter
	}
	if _, err := s.ask(l, "initialize", cfg.initialize); err != nil {
		return err
	}
	if cfg.attach == nil || !saw {
		return nil
	}
	attached, err := s.sendOwn(l, "attach", cfg.attach)
	if err != nil {
		return err
	}
	select {
	case <-l.initialized:
	case m := <-attached: // debugpy answers attach after configurationDone, unless it fails
		if !m.Success {
			return fmt.Errorf("attach failed: %s", m.Message)
		}
	case <-l.done:
		return errLeft
	case <-time.After(replayTimeout):
		return fmt.Errorf("debugpy's adapter did not say initialized within %s", replayTimeout)
	}
	// What the editor set between the two processes goes in before
	// configurationDone too, as its own requests (their replies are the
	// editor's), and the configuration it replaces is not replayed.
	early, replaced := s.takeQueuedConfiguration()
	for _, k := range cfg.sources {
		if !replaced["setBreakpoints "+k] {
			if _, err := s.ask(l, "setBreakpoints", cfg.breakpoints[k]); err != nil {
				return err
			}
		}
	}
	if cfg.functionBreakpoints != nil && !replaced["setFunctionBreakpoints"] {
		if _, err := s.ask(l, "setFunctionBreakpoints", cfg.functionBreakpoints); err != nil {
			return err
		}
	}
	if cfg.exceptionBreakpoints != nil && !replaced["setExceptionBreakpoints"] {
		if _, err := s.ask(l, "setExceptionBreakpoints", cfg.exceptionBreakpoints); err != nil {
			return err
		}
	}
	for _, q := range early {
		if err := s.forwardAndWait(l, q); err != nil {
			return err
		}
	}
	if !cfg.configured {
		return nil
	}
	s.mu.Lock()
	l.configured = true
	s.mu.Unlock()
	s.r.setAttached(l.t, 1)
	_, err = s.ask(l, "configurationDone", nil)
	return err
}

// takeQueuedConfiguration takes the editor's waiting requests that
// configure breakpoints out of the queue, and names what they replace.
func (s *session) takeQueuedConfiguration() (taken []queued, replaced map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	replaced = map[string]bool{}
	rest := s.queue[:0]
	for _, q := range s.queue {
		if !configures(q.m) {
			rest = append(rest, q)
			continue
		}
		taken = append(taken, q)
		key := q.m.Command
		if key == "setBreakpoints" {
			key += " " + sourceKey(q.m.Arguments)
		}
		replaced[key] = true
	}
	s.queue = rest
	return taken, replaced
}

// forwardAndWait sends an editor's request to l's adapter before l is
// ready, and waits for its reply, which goes to the editor.
func (s *session) forwardAndWait(l *leg, q queued) error {
	answered := make(chan struct{})
	s.mu.Lock()
	l.awaited[q.m.Seq] = answered
	after := s.forward(l, q)
	s.mu.Unlock()
	after()
	select {
	case <-answered:
		return nil
	case <-l.done:
		return errLeft
	case <-time.After(replayTimeout):
		return fmt.Errorf("debugpy's adapter did not answer %s within %s", q.m.Command, replayTimeout)
	}
}

// ask sends the relay's own request to l's adapter and waits for its
// successful reply.
func (s *session) ask(l *leg, command string, args json.RawMessage) (message, error) {
	reply, err := s.sendOwn(l, command, args)
	if err != nil {
		return message{}, err
	}
	select {
	case m := <-reply:
		if !m.Success {
			return m, fmt.Errorf("%s failed: %s", command, m.Message)
		}
		return m, nil
	case <-l.done:
		return message{}, errLeft
	case <-time.After(replayTimeout):
		return message{}, fmt.Errorf("debugpy's adapter did not answer %s within %s", command, replayTimeout)
	}
}

// sendOwn sends the relay's own request to l's adapter; its reply comes on
// the channel, never to the editor.
func (s *session) sendOwn(l *leg, command string, args json.RawMessage) (<-chan message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ownSeq++
	seq := ownSeqBase + s.ownSeq
	reply := make(chan message, 1)
	l.replies[seq] = reply
	fields := map[string]any{"seq": seq, "type": "request", "command": command}
	if args != nil {
		fields["arguments"] = args
	}
	if err := writeFrame(l.conn, newMessage(fields)); err != nil {
		return nil, errLeft
	}
	return reply, nil
}

// readAdapter passes l's adapter's messages on until its connection ends.
func (s *session) readAdapter(l *leg) {
	readMessages(quickAcks(l.conn), func(_, body []byte, m message) { s.fromAdapter(l, body, m) })
}

func (s *session) fromAdapter(l *leg, body []byte, m message) {
	switch m.Type {
	case "response":
		s.fromAdapterResponse(l, body, m)
	case "event":
		s.fromAdapterEvent(l, body, m)
	case "request": // the adapter's own, to the editor: its reply is renumbered back
		s.sendNoting(body, func(seq int) {
			s.mu.Lock()
			l.reverse[seq] = m.Seq
			s.mu.Unlock()
		})
	default:
		s.send(body)
	}
}

func (s *session) fromAdapterResponse(l *leg, body []byte, m message) {
	s.mu.Lock()
	if reply, ok := l.replies[m.RequestSeq]; ok {
		delete(l.replies, m.RequestSeq)
		s.mu.Unlock()
		reply <- m
		return
	}
	delete(l.pending, m.RequestSeq)
	if answered, ok := l.awaited[m.RequestSeq]; ok {
		delete(l.awaited, m.RequestSeq)
		close(answered)
	}
	a, resuming := l.resuming[m.RequestSeq]
	delete(l.resuming, m.RequestSeq)
	if m.Command == "threads" {
		var b threadBody
		_ = json.Unmarshal(m.Body, &b)
		for _, t := range b.Threads {
			l.threads[t.ID] = true
		}
	}
	detached := m.Command == "disconnect" && s.disconnecting
	s.mu.Unlock()
	s.send(body)
	// Execution continues once the reply has reached the editor: a change
	// then applied may end the process, and the editor must not lose the
	// reply with it. debugpy resumes every thread unless asked for one
	// alone; a step that ends stops again with its own event.
	if resuming && m.Success {
		s.r.setPaused(l, func(p map[int]bool) {
			if a.SingleThread {
				delete(p, a.ThreadID)
			} else {
				clear(p)
			}
		})
	}
	if detached {
		s.end()
	}
}

func (s *session) fromAdapterEvent(l *leg, body []byte, m message) {
	var b threadBody
	_ = json.Unmarshal(m.Body, &b)
	switch m.Event {
	case "terminated", "exited":
		// The process's end, not the session's: the relay tells the
		// editor its threads exited (and continued) when the adapter's
		// connection ends, which follows.
		return
	case "initialized":
		s.mu.Lock()
		again := s.sawInitialized
		s.sawInitialized = true
		s.mu.Unlock()
		if again {
			close(l.initialized)
			return
		}
	case "output":
		if l.replayed && b.Category == "telemetry" {
			return // said by the first process's adapter already
		}
	case "debugpyWaitingForServer":
		if l.replayed {
			return // part of the relay's attach, not the editor's
		}
	case "thread", "stopped":
		s.mu.Lock()
		if b.Reason == "exited" {
			delete(l.threads, b.ThreadID)
		} else {
			l.threads[b.ThreadID] = true
		}
		s.mu.Unlock()
	}
	s.send(body)
	switch m.Event {
	case "stopped":
		s.r.setPaused(l, func(p map[int]bool) { p[b.ThreadID] = true })
	case "continued":
		s.r.setPaused(l, func(p map[int]bool) {
			if b.AllThreadsContinued == nil || *b.AllThreadsContinued {
				clear(p)
			} else {
				delete(p, b.ThreadID)
			}
		})
	case "thread":
		if b.Reason == "exited" {
			s.r.setPaused(l, func(p map[int]bool) { delete(p, b.ThreadID) })
		}
	}
}

// left ends l, whose adapter's connection ended: the editor hears that
// the process's threads exited (and continued, if one was paused), and its
// requests the adapter left unanswered are answered.
func (s *session) left(l *leg) {
	l.conn.Close()
	s.mu.Lock()
	if s.leg == l {
		s.leg = nil
	}
	s.cur.CompareAndSwap(l, nil)
	pending, threads, configured, detaching := l.pending, l.threads, l.configured, s.disconnecting
	l.pending = map[int]string{}
	s.mu.Unlock()
	close(l.done)

	s.r.mu.Lock()
	stopped := sortedKeys(l.stopped)
	ended := s.ended
	s.r.mu.Unlock()
	s.r.setPaused(l, func(p map[int]bool) { clear(p) })
	if configured {
		s.r.setAttached(l.t, -1)
	}
	if ended {
		return
	}
	if len(stopped) > 0 {
		s.send(event("continued", map[string]any{"threadId": stopped[0], "allThreadsContinued": true}))
	}
	for _, id := range sortedKeys(threads) {
		s.send(event("thread", map[string]any{"reason": "exited", "threadId": id}))
	}
	for _, seq := range sortedKeys(pending) {
		if pending[seq] == "disconnect" {
			continue
		}
		s.send(errorResponse(seq, pending[seq], replacedText))
	}
	if detaching {
		// The process went with the editor's disconnect in flight: the
		// session ends as asked.
		for seq, command := range pending {
			if command == "disconnect" {
				s.send(newMessage(map[string]any{"type": "response", "request_seq": seq, "command": command, "success": true}))
			}
		}
		s.end()
	}
}

// leave closes the session's connection to the process that went; its
// reader ends the leg. Called under Relay.mu.
func (s *session) leave() {
	if l := s.cur.Load(); l != nil {
		l.conn.Close()
	}
}

// terminate ends the session because the server stops, or runs on without
// the debugger: what the editor waits for is answered, and it hears
// terminated.
func (s *session) terminate() {
	s.mu.Lock()
	l, queue := s.leg, s.queue
	s.queue = nil
	s.mu.Unlock()
	if l != nil {
		l.conn.Close()
		<-l.done
	}
	for _, q := range queue {
		if q.m.Type == "request" {
			s.send(errorResponse(q.m.Seq, q.m.Command, "The server stopped, and with it the debug session."))
		}
	}
	s.send(event("terminated", map[string]any{}))
	s.end()
}

// end ends the session: the editor's connection, and the current leg's.
func (s *session) end() {
	s.r.forget(s)
	s.client.Close()
	s.leave()
}

// send writes a message to the editor, numbered after the last, and
// returns its seq.
func (s *session) send(body []byte) int { return s.sendNoting(body, nil) }

// sendNoting is send, telling note the seq before the message goes: the
// editor's reply may come back at once.
func (s *session) sendNoting(body []byte, note func(seq int)) int {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.seq++
	if note != nil {
		note(s.seq)
	}
	_ = writeFrame(s.client, withNumber(body, "seq", s.seq))
	return s.seq
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
