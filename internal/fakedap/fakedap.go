// Package fakedap is a small Debug Adapter Protocol client for tests: it
// attaches to a debugpy adapter (or the backend's relay to one) as an
// editor's debugger does, sets breakpoints, and waits for what a test
// expects with a deadline, never a sleep.
package fakedap

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/django-runserver/django-runserver/server/debugger"
	"github.com/django-runserver/django-runserver/server/framing"
)

// Timeout bounds every wait. Generous: the machine may be loaded.
const Timeout = 60 * time.Second

// Message is a DAP message as received.
type Message struct {
	Seq        int             `json:"seq"`
	Type       string          `json:"type"`
	Command    string          `json:"command,omitempty"`
	Event      string          `json:"event,omitempty"`
	RequestSeq int             `json:"request_seq,omitempty"`
	Success    bool            `json:"success,omitempty"`
	Message    string          `json:"message,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
}

// Client is one DAP connection.
type Client struct {
	conn net.Conn
	done chan struct{} // closed when the adapter ends the connection

	mu      sync.Mutex
	seq     int
	msgs    []Message
	arrived chan struct{}
}

// Dial connects to a DAP server at addr (host:port).
func Dial(addr string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, done: make(chan struct{}), arrived: make(chan struct{})}
	go c.read()
	return c, nil
}

// Close ends the connection.
func (c *Client) Close() { c.conn.Close() }

// Done is closed once the other side has ended the connection.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) read() {
	defer close(c.done)
	fr := framing.NewReader(c.conn, debugger.MaxMessage)
	for {
		_, body, err := fr.Read()
		if err != nil {
			return
		}
		var m Message
		if json.Unmarshal(body, &m) != nil {
			continue
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
	}
}

// Send sends a request and returns its seq, without waiting for the reply.
func (c *Client) Send(command string, args any) (int, error) {
	c.mu.Lock()
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	body, err := json.Marshal(map[string]any{"seq": seq, "type": "request", "command": command, "arguments": args})
	if err != nil {
		return 0, err
	}
	_, err = fmt.Fprintf(c.conn, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return seq, err
}

// Request sends a request and waits for its successful reply.
func (c *Client) Request(command string, args any) (Message, error) {
	seq, err := c.Send(command, args)
	if err != nil {
		return Message{}, err
	}
	return c.Response(seq)
}

// Response waits for the reply to the request seq, and fails unless it
// succeeded.
func (c *Client) Response(seq int) (Message, error) {
	m, err := c.Await(0, fmt.Sprintf("the reply to request %d", seq), func(m Message) bool {
		return m.Type == "response" && m.RequestSeq == seq
	})
	if err == nil && !m.Success {
		err = fmt.Errorf("%s failed: %s", m.Command, m.Message)
	}
	return m, err
}

// Mark is a position in the messages received, to wait for what comes
// after.
func (c *Client) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// Await waits until a message received since from satisfies cond, and
// returns it.
func (c *Client) Await(from int, what string, cond func(Message) bool) (Message, error) {
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		msgs, arrived := c.msgs[from:], c.arrived
		c.mu.Unlock()
		for _, m := range msgs {
			if cond(m) {
				return m, nil
			}
		}
		select {
		case <-arrived:
		case <-c.done:
			return Message{}, fmt.Errorf("the adapter ended the connection before %s", what)
		case <-deadline.C:
			return Message{}, fmt.Errorf("no %s within %s", what, Timeout)
		}
	}
}

// AwaitEvent waits for the event named event since from.
func (c *Client) AwaitEvent(from int, event string) (Message, error) {
	return c.Await(from, "event "+event, func(m Message) bool { return m.Type == "event" && m.Event == event })
}

// Breakpoints are lines to break at, by source file.
type Breakpoints map[string][]int

// Attach attaches as VS Code does to a debugpy adapter: initialize,
// attach, the breakpoints once the adapter says initialized, then
// configurationDone; debugpy replies to attach after that.
func (c *Client) Attach(bps Breakpoints) error {
	if _, err := c.Request("initialize", map[string]any{
		"clientID": "fakedap", "adapterID": "debugpy", "pathFormat": "path",
		"linesStartAt1": true, "columnsStartAt1": true,
	}); err != nil {
		return err
	}
	from := c.Mark()
	attach, err := c.Send("attach", map[string]any{"justMyCode": true, "django": true})
	if err != nil {
		return err
	}
	if _, err := c.AwaitEvent(from, "initialized"); err != nil {
		return err
	}
	for file, lines := range bps {
		if err := c.SetBreakpoints(file, lines...); err != nil {
			return err
		}
	}
	if _, err := c.Request("configurationDone", nil); err != nil {
		return err
	}
	_, err = c.Response(attach)
	return err
}

// SetBreakpoints sets the breakpoints of file to lines.
func (c *Client) SetBreakpoints(file string, lines ...int) error {
	var list []map[string]int
	for _, l := range lines {
		list = append(list, map[string]int{"line": l})
	}
	r, err := c.Request("setBreakpoints", map[string]any{"source": map[string]string{"path": file}, "breakpoints": list})
	if err != nil {
		return err
	}
	var b struct {
		Breakpoints []struct{ Verified bool } `json:"breakpoints"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || len(b.Breakpoints) != len(lines) {
		return fmt.Errorf("setBreakpoints in %s answered %s", file, r.Body)
	}
	return nil
}

// Frame is where a stopped thread is.
type Frame struct {
	ThreadID int
	Path     string
	Line     int
	// Stack is the path of every frame the adapter shows, innermost first.
	Stack []string
}

// AwaitStop waits for a stopped event since from, and returns the top
// frame of the stopped thread.
func (c *Client) AwaitStop(from int) (Frame, error) {
	m, err := c.AwaitEvent(from, "stopped")
	if err != nil {
		return Frame{}, err
	}
	var ev struct {
		ThreadID int `json:"threadId"`
	}
	if err := json.Unmarshal(m.Body, &ev); err != nil {
		return Frame{}, err
	}
	r, err := c.Request("stackTrace", map[string]any{"threadId": ev.ThreadID})
	if err != nil {
		return Frame{}, err
	}
	var st struct {
		StackFrames []struct {
			Line   int `json:"line"`
			Source struct {
				Path string `json:"path"`
			} `json:"source"`
		} `json:"stackFrames"`
	}
	if err := json.Unmarshal(r.Body, &st); err != nil || len(st.StackFrames) == 0 {
		return Frame{}, errors.Join(err, fmt.Errorf("stackTrace answered %s", r.Body))
	}
	top := st.StackFrames[0]
	f := Frame{ThreadID: ev.ThreadID, Path: top.Source.Path, Line: top.Line}
	for _, sf := range st.StackFrames {
		f.Stack = append(f.Stack, sf.Source.Path)
	}
	return f, nil
}

// Continue resumes every thread.
func (c *Client) Continue(threadID int) error {
	_, err := c.Request("continue", map[string]any{"threadId": threadID})
	return err
}

// Messages is every message received so far.
func (c *Client) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}
