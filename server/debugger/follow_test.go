package debugger_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/server/debugger"
	"github.com/django-runserver/django-runserver/server/framing"
)

// request is a request a fake adapter received.
type request struct {
	Seq       int             `json:"seq"`
	Type      string          `json:"type"`
	Command   string          `json:"command"`
	Arguments json.RawMessage `json:"arguments"`
}

// fakeAdapter speaks DAP as debugpy's adapter does to its one client:
// telemetry output on connect; initialized once attached, and the reply to
// attach after configurationDone; breakpoints verified. Requests it has no
// answer for wait for the test's.
type fakeAdapter struct {
	t    *testing.T
	addr string
	reqs chan request

	mu     sync.Mutex
	conn   net.Conn
	seq    int
	attach int
}

func newFakeAdapter(t *testing.T) *fakeAdapter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	a := &fakeAdapter{t: t, addr: ln.Addr().String(), reqs: make(chan request, 64)}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { conn.Close() })
		a.mu.Lock()
		a.conn = conn
		a.mu.Unlock()
		a.send(map[string]any{"type": "event", "event": "output", "body": map[string]any{"category": "telemetry", "output": "debugpy"}})
		a.serve(conn)
	}()
	return a
}

func (a *fakeAdapter) send(m map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	m["seq"] = a.seq
	b, _ := json.Marshal(m)
	fmt.Fprintf(a.conn, "Content-Length: %d\r\n\r\n%s", len(b), b)
}

func (a *fakeAdapter) event(name string, body any) {
	a.send(map[string]any{"type": "event", "event": name, "body": body})
}

func (a *fakeAdapter) respond(seq int, command string, body any) {
	a.send(map[string]any{"type": "response", "request_seq": seq, "command": command, "success": true, "body": body})
}

func (a *fakeAdapter) serve(conn net.Conn) {
	fr := framing.NewReader(conn, debugger.MaxMessage)
	for {
		_, body, err := fr.Read()
		if err != nil {
			return
		}
		var r request
		if json.Unmarshal(body, &r) != nil || r.Type != "request" {
			continue
		}
		a.reqs <- r
		switch r.Command {
		case "initialize":
			a.respond(r.Seq, r.Command, map[string]any{"supportsConfigurationDoneRequest": true})
		case "attach":
			a.attach = r.Seq
			a.event("initialized", nil)
		case "setBreakpoints":
			var args struct{ Breakpoints []any }
			json.Unmarshal(r.Arguments, &args)
			var bps []map[string]any
			for range args.Breakpoints {
				bps = append(bps, map[string]any{"verified": true})
			}
			a.respond(r.Seq, r.Command, map[string]any{"breakpoints": bps})
		case "setExceptionBreakpoints":
			a.respond(r.Seq, r.Command, nil)
		case "configurationDone":
			a.respond(r.Seq, r.Command, nil)
			a.respond(a.attach, "attach", nil)
			a.event("process", map[string]any{"name": a.addr})
			a.event("thread", map[string]any{"reason": "started", "threadId": 1})
		case "threads":
			a.respond(r.Seq, r.Command, map[string]any{"threads": []map[string]any{{"id": 1, "name": "MainThread"}}})
		case "disconnect":
			a.respond(r.Seq, r.Command, nil)
			conn.Close()
		}
	}
}

// exit ends the process as debugpy's adapter does: terminated, exited,
// and the connection closes.
func (a *fakeAdapter) exit() {
	a.event("terminated", nil)
	a.event("exited", map[string]any{"exitCode": 0})
	a.mu.Lock()
	a.conn.Close()
	a.mu.Unlock()
}

// next is the next request the adapter received.
func (a *fakeAdapter) next(command string) request {
	a.t.Helper()
	select {
	case r := <-a.reqs:
		if r.Command != command {
			a.t.Fatalf("the adapter received %s (%s), want %s", r.Command, r.Arguments, command)
		}
		return r
	case <-time.After(fakedap.Timeout):
		a.t.Fatalf("the adapter received no %s", command)
		return request{}
	}
}

// events is what a target reports, on channels.
func events() (debugger.Events, chan bool, chan bool) {
	paused, attached := make(chan bool, 8), make(chan bool, 8)
	return debugger.Events{Paused: func(p bool) { paused <- p }, Attached: func(a bool) { attached <- a }}, paused, attached
}

func relayAddr(t *testing.T) (*debugger.Relay, string) {
	r, err := debugger.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	host, port := r.Addr()
	return r, net.JoinHostPort(host, strconv.Itoa(port))
}

func dial(t *testing.T, addr string) *fakedap.Client {
	d, err := fakedap.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// One session for the server's life: the editor attaches once, and each
// new process's adapter is sent, by the relay, what the editor configured
// (the latest breakpoints of each source), with seq numbers of its own;
// the editor sees one session go on: no second initialized, no
// terminated or exited, its threads exit with the process, and what the
// process left unanswered is answered. Its messages are numbered 1, 2, 3…
// whatever adapter they came from.
func TestRelaySessionFollowsNewProcesses(t *testing.T) {
	r, addr := relayAddr(t)
	ad1 := newFakeAdapter(t)
	ev1, paused1, attached1 := events()
	r.Target(ad1.addr, ev1)
	d := dial(t, addr)
	attachDone := make(chan error, 1)
	go func() { attachDone <- d.Attach(fakedap.Breakpoints{"/p/views.py": {3}}) }()
	init := ad1.next("initialize")
	attach := ad1.next("attach")
	bp := ad1.next("setBreakpoints")
	ad1.next("configurationDone")
	if err := <-attachDone; err != nil {
		t.Fatal(err)
	}
	expect(t, attached1, true)

	// Paused, with a request in flight, when the process goes.
	mark := d.Mark()
	ad1.event("stopped", map[string]any{"threadId": 1, "reason": "breakpoint"})
	if _, err := d.AwaitEvent(mark, "stopped"); err != nil {
		t.Fatal(err)
	}
	expect(t, paused1, true)
	inFlight, _ := d.Send("stackTrace", map[string]any{"threadId": 1})
	ad1.next("stackTrace")
	mark = d.Mark()
	ad1.exit()
	r.End()
	expect(t, paused1, false)
	expect(t, attached1, false)
	if _, err := d.Await(mark, "continued, all threads", func(m fakedap.Message) bool {
		return m.Event == "continued" && string(m.Body) == `{"allThreadsContinued":true,"threadId":1}`
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Await(mark, "thread 1 exited", func(m fakedap.Message) bool {
		return m.Event == "thread" && string(m.Body) == `{"reason":"exited","threadId":1}`
	}); err != nil {
		t.Fatal(err)
	}
	reply, err := d.Await(mark, "the reply to stackTrace", func(m fakedap.Message) bool { return m.RequestSeq == inFlight })
	if err != nil || reply.Success || !strings.Contains(reply.Message, "a reload replaced it") {
		t.Fatalf("stackTrace in flight answered %+v (%v), want an error saying the process was replaced", reply, err)
	}

	// Between two processes the editor asks; the request waits for the
	// next process, which the relay configures first.
	threads, _ := d.Send("threads", nil)
	awaitWaiting(t, r)
	ad2 := newFakeAdapter(t)
	ev2, _, attached2 := events()
	r.Target(ad2.addr, ev2)
	own := map[int]bool{}
	for _, want := range []request{init, attach, bp} {
		got := ad2.next(want.Command)
		if string(got.Arguments) != string(want.Arguments) {
			t.Errorf("replayed %s with %s, want the editor's %s", want.Command, got.Arguments, want.Arguments)
		}
		own[got.Seq] = true
	}
	done := ad2.next("configurationDone")
	own[done.Seq] = true
	expect(t, attached2, true)
	if got := ad2.next("threads"); got.Seq != threads {
		t.Errorf("the editor's threads request reached the adapter as seq %d, want %d", got.Seq, threads)
	}
	for seq := range own {
		if seq <= threads {
			t.Errorf("the relay's own request has seq %d, which the editor's may have: %v", seq, own)
		}
	}
	if _, err := d.Response(threads); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Await(mark, "the second process's process event", func(m fakedap.Message) bool {
		return m.Event == "process" && strings.Contains(string(m.Body), ad2.addr)
	}); err != nil {
		t.Fatal(err)
	}

	// A breakpoint changed now is the one the third process gets.
	if _, err := d.Request("setBreakpoints", map[string]any{"source": map[string]string{"path": "/p/views.py"}, "breakpoints": []map[string]int{{"line": 9}}}); err != nil {
		t.Fatal(err)
	}
	bp = ad2.next("setBreakpoints")
	ad2.exit()
	r.End()
	expect(t, attached2, false)
	ad3 := newFakeAdapter(t)
	ev3, _, attached3 := events()
	r.Target(ad3.addr, ev3)
	ad3.next("initialize")
	ad3.next("attach")
	if got := ad3.next("setBreakpoints"); string(got.Arguments) != string(bp.Arguments) {
		t.Errorf("the third process got breakpoints %s, want the latest %s", got.Arguments, bp.Arguments)
	}
	ad3.next("configurationDone")
	expect(t, attached3, true)

	// One session all along, numbered as one.
	for i, m := range d.Messages() {
		if m.Seq != i+1 {
			t.Fatalf("message %d of the editor's session has seq %d: %+v", i+1, m.Seq, m)
		}
		if m.Event == "terminated" || m.Event == "exited" {
			t.Errorf("the editor heard %s: its session would end or restart", m.Event)
		}
		if m.Event == "output" && i > 2 {
			t.Errorf("the editor heard a later adapter's telemetry: %s", m.Body)
		}
	}
	if n := countEvents(d, "initialized"); n != 1 {
		t.Errorf("the editor heard initialized %d times, want once", n)
	}

	// The editor's disconnect ends its session: later processes run
	// without it.
	if _, err := d.Request("disconnect", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	case <-time.After(fakedap.Timeout):
		t.Fatal("the session outlived the editor's disconnect")
	}
	expect(t, attached3, false)
	ad3.exit()
	r.End()
	ad4 := newFakeAdapter(t)
	r.Target(ad4.addr, debugger.Events{})
	r.Close()
	select {
	case req := <-ad4.reqs:
		t.Fatalf("a process after the disconnect received %s", req.Command)
	default:
	}
}

func countEvents(d *fakedap.Client, name string) int {
	n := 0
	for _, m := range d.Messages() {
		if m.Type == "event" && m.Event == name {
			n++
		}
	}
	return n
}

// Breakpoints the editor sets between two processes reach the next one
// before configurationDone, as the editor's own requests (it gets their
// replies), in place of those they replace.
func TestRelayBreakpointsSetBetweenProcessesJoinTheReplay(t *testing.T) {
	r, addr := relayAddr(t)
	ad1 := newFakeAdapter(t)
	r.Target(ad1.addr, debugger.Events{})
	d := dial(t, addr)
	if err := d.Attach(fakedap.Breakpoints{"/p/views.py": {3}, "/p/urls.py": {1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AwaitEvent(0, "thread"); err != nil { // started: the process runs
		t.Fatal(err)
	}
	mark := d.Mark()
	ad1.exit()
	r.End()
	if _, err := d.Await(mark, "thread 1 exited", func(m fakedap.Message) bool {
		return m.Event == "thread" && strings.Contains(string(m.Body), "exited")
	}); err != nil { // the relay has left the process
		t.Fatal(err)
	}
	moved, _ := d.Send("setBreakpoints", map[string]any{"source": map[string]string{"path": "/p/views.py"}, "breakpoints": []map[string]int{{"line": 9}}})
	awaitWaiting(t, r)
	ad2 := newFakeAdapter(t)
	r.Target(ad2.addr, debugger.Events{})
	ad2.next("initialize")
	ad2.next("attach")
	if got := ad2.next("setBreakpoints"); !strings.Contains(string(got.Arguments), "/p/urls.py") {
		t.Errorf("replayed first %s, want the breakpoints of urls.py, which nothing replaced", got.Arguments)
	}
	if got := ad2.next("setBreakpoints"); got.Seq != moved || !strings.Contains(string(got.Arguments), `"line":9`) {
		t.Errorf("then %d %s, want the editor's own request %d, views.py at line 9", got.Seq, got.Arguments, moved)
	}
	ad2.next("configurationDone")
	if _, err := d.Response(moved); err != nil {
		t.Fatal(err)
	}
}

// awaitWaiting waits until a request of the editor's waits in r for the
// next process.
func awaitWaiting(t *testing.T, r *debugger.Relay) {
	t.Helper()
	deadline := time.Now().Add(fakedap.Timeout)
	for !debugger.Waiting(r) {
		if time.Now().After(deadline) {
			t.Fatal("the relay did not queue the request")
		}
		time.Sleep(time.Millisecond)
	}
}
