package session

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// client is a fake editor: it drives a real Session over in-memory pipes
// with a real jsonrpc2 connection, records what the backend sends, and
// prints the JSON-RPC trace when a test fails.
type client struct {
	t    *testing.T
	conn jsonrpc2.Conn
	raw  io.Writer     // the session's stdin, for malformed frames
	done chan struct{} // closed when Serve returned
	code int           // what Serve returned; valid after done

	mu     sync.Mutex
	notes  []note
	trace  []string
	answer func(protocol.ShowMessageRequestParams) string
}

type note struct {
	method string
	params json.RawMessage
}

type pipe struct {
	io.Reader
	io.WriteCloser
}

func newClient(t *testing.T) *client {
	t.Helper()
	toServerR, toServerW := io.Pipe()
	toClientR, toClientW := io.Pipe()
	c := &client{t: t, raw: toServerW, done: make(chan struct{})}
	logw := &traceWriter{c: c}
	go func() {
		c.code = Serve(context.Background(), toServerR, toClientW, log.New(logw, "backend: ", 0))
		close(c.done)
		toClientW.Close()
	}()
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(pipe{toClientR, toServerW}))
	c.conn.Go(context.Background(), c.handle)
	t.Cleanup(func() {
		if t.Failed() {
			c.mu.Lock()
			t.Logf("JSON-RPC trace:\n%s", strings.Join(c.trace, "\n"))
			c.mu.Unlock()
		}
		c.close()
	})
	return c
}

// close shuts the session down, as an editor does, and waits for it.
func (c *client) close() {
	select {
	case <-c.done:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, _ = c.conn.Call(ctx, protocol.MethodShutdown, nil, nil)
	_ = c.conn.Notify(ctx, protocol.MethodExit, nil)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.t.Error("the session did not exit after shutdown and exit")
	}
	c.conn.Close()
}

type traceWriter struct{ c *client }

func (w *traceWriter) Write(b []byte) (int, error) {
	w.c.log("stderr", strings.TrimSpace(string(b)))
	return len(b), nil
}

func (c *client) log(dir, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trace = append(c.trace, fmt.Sprintf("%s %-6s %s", time.Now().Format("15:04:05.000"), dir, msg))
}

func (c *client) handle(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	// The request borrows the frame: copy what is kept.
	method := strings.Clone(req.Method())
	params := json.RawMessage(append([]byte(nil), req.Params()...))
	c.log("<-", method+" "+string(params))
	if method == protocol.MethodShowMessageRequest {
		var p protocol.ShowMessageRequestParams
		_ = json.Unmarshal(params, &p)
		c.mu.Lock()
		answer := c.answer
		c.notes = append(c.notes, note{method, params})
		c.mu.Unlock()
		if answer == nil {
			return nil, nil
		}
		if title := answer(p); title != "" {
			return protocol.MessageActionItem{Title: title}, nil
		}
		return nil, nil
	}
	c.mu.Lock()
	c.notes = append(c.notes, note{method, params})
	c.mu.Unlock()
	return nil, nil
}

// exitCode waits for the session to end and returns its exit code.
func (c *client) exitCode() int {
	c.t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(20 * time.Second):
		c.t.Fatal("the session did not exit")
		return -1
	}
}

// call sends a request and decodes its result.
func (c *client) call(method string, params, result any) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, _ := json.Marshal(params)
	c.log("->", method+" "+string(b))
	var raw json.RawMessage
	_, err := c.conn.Call(ctx, method, params, &raw)
	c.log("<-", fmt.Sprintf("reply to %s: %s %v", method, raw, err))
	if err == nil && result != nil {
		err = json.Unmarshal(raw, result)
	}
	return err
}

func (c *client) mustCall(method string, params, result any) {
	c.t.Helper()
	if err := c.call(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	b, _ := json.Marshal(params)
	c.log("->", method+" "+string(b))
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// initialize opens folders with settings.
func (c *client) initialize(settings map[string]any, folders ...string) protocol.InitializeResult {
	c.t.Helper()
	var wf []protocol.WorkspaceFolder
	for _, f := range folders {
		wf = append(wf, protocol.WorkspaceFolder{URI: fileuri.FromPath(f), Name: f})
	}
	var res protocol.InitializeResult
	c.mustCall(protocol.MethodInitialize, protocol.InitializeParams{
		WorkspaceFolders:      wf,
		InitializationOptions: &protocol.InitializationOptions{Settings: map[string]any{protocol.SettingsSection: settings}},
	}, &res)
	c.notify(protocol.MethodInitialized, struct{}{})
	return res
}

// mark is a position in the notifications, to wait for what comes after it.
func (c *client) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.notes)
}

func (c *client) notesSince(from int) []note {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]note(nil), c.notes[from:]...)
}

// statusesSince returns the statuses received since from.
func (c *client) statusesSince(from int) []protocol.Status {
	var out []protocol.Status
	for _, n := range c.notesSince(from) {
		if n.method == protocol.MethodDidChangeStatus {
			var st protocol.Status
			if err := json.Unmarshal(n.params, &st); err != nil {
				c.t.Fatalf("bad status %s: %v", n.params, err)
			}
			out = append(out, st)
		}
	}
	return out
}

// awaitState waits for a status in state since from, and fails fast on an
// unexpected failure.
func (c *client) awaitState(from int, state protocol.State) protocol.Status {
	c.t.Helper()
	return c.await(from, state, state != protocol.StateFailed)
}

// awaitStateThrough waits for a status in state, through failures.
func (c *client) awaitStateThrough(from int, state protocol.State) protocol.Status {
	c.t.Helper()
	return c.await(from, state, false)
}

func (c *client) await(from int, state protocol.State, failFast bool) protocol.Status {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, st := range c.statusesSince(from) {
			if st.State == state {
				return st
			}
			if st.State == protocol.StateFailed && failFast {
				c.t.Fatalf("waiting for %s, the server failed: %+v", state, st.Error)
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for state %s; statuses: %+v", state, c.statusesSince(from))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// states lists the states received since from.
func (c *client) states(from int) []protocol.State {
	var out []protocol.State
	for _, st := range c.statusesSince(from) {
		out = append(out, st.State)
	}
	return out
}

// diagnostics returns the latest diagnostics published for uri.
func (c *client) diagnostics(uri string) ([]protocol.Diagnostic, bool) {
	var latest []protocol.Diagnostic
	found := false
	for _, n := range c.notesSince(0) {
		if n.method != protocol.MethodPublishDiagnostics {
			continue
		}
		var p protocol.PublishDiagnosticsParams
		_ = json.Unmarshal(n.params, &p)
		if p.URI == uri {
			latest, found = p.Diagnostics, true
		}
	}
	return latest, found
}

// awaitDiagnostics waits until uri's latest diagnostics satisfy cond.
func (c *client) awaitDiagnostics(uri, what string, cond func([]protocol.Diagnostic) bool) []protocol.Diagnostic {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, ok := c.diagnostics(uri)
		if ok && cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for diagnostics on %s: %s; latest: %+v", uri, what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logLines returns Django's output lines since from.
func (c *client) logLines(from int) []string {
	var out []string
	for _, n := range c.notesSince(from) {
		if n.method == protocol.MethodLog {
			var p protocol.LogParams
			_ = json.Unmarshal(n.params, &p)
			out = append(out, p.Text)
		}
	}
	return out
}

// messages returns the window/showMessage texts since from.
func (c *client) messages(from int, method string) []string {
	var out []string
	for _, n := range c.notesSince(from) {
		if n.method == method {
			var p protocol.ShowMessageParams
			_ = json.Unmarshal(n.params, &p)
			out = append(out, p.Message)
		}
	}
	return out
}
