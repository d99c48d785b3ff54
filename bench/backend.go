//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// backend is our backend, driven as an editor drives it: a real
// `django-runserver --stdio` process spoken to over JSON-RPC.
type backend struct {
	cmd      *exec.Cmd
	conn     jsonrpc2.Conn
	execAt   time.Time     // just before exec
	initTime time.Duration // spawn until the initialize reply
	exited   chan struct{}
	stderr   *tail

	mu       sync.Mutex
	status   protocol.Status
	changed  chan struct{} // closed and replaced on every status
	warnings []string      // window/showMessage texts
	djangoAt time.Time     // when a status first named the current Django pid
}

// stdio joins the backend's stdout and stdin into one stream.
type stdio struct {
	io.Reader
	io.WriteCloser
}

// startBackend spawns the backend and initializes it with folder and
// settings, as VS Code would.
func startBackend(bin, folder string, settings map[string]any) (*backend, error) {
	b := &backend{changed: make(chan struct{}), exited: make(chan struct{}), stderr: &tail{}}
	b.cmd = exec.Command(bin, "--stdio")
	b.cmd.Stderr = b.stderr
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := b.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	b.conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(stdio{out, in}))
	b.execAt = time.Now()
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot run the backend: %w", err)
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	kill := atExit(func() { _ = b.cmd.Process.Kill() })
	go func() { <-b.exited; kill() }()
	b.conn.Go(context.Background(), b.handle)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	uri := fileuri.FromPath(folder)
	var res protocol.InitializeResult
	if _, err := b.conn.Call(ctx, protocol.MethodInitialize, protocol.InitializeParams{
		WorkspaceFolders:      []protocol.WorkspaceFolder{{URI: uri, Name: "bench"}},
		InitializationOptions: &protocol.InitializationOptions{Settings: map[string]any{protocol.SettingsSection: settings}},
	}, &res); err != nil {
		b.kill()
		return nil, fmt.Errorf("initialize: %w%s", err, b.stderr.text())
	}
	b.initTime = time.Since(b.execAt)
	if err := b.conn.Notify(ctx, protocol.MethodInitialized, struct{}{}); err != nil {
		b.kill()
		return nil, err
	}
	return b, nil
}

func (b *backend) pid() int { return b.cmd.Process.Pid }

func (b *backend) handle(_ context.Context, req *jsonrpc2.Request) (any, error) {
	// Method and params are borrowed from the frame: copy what is kept.
	switch strings.Clone(req.Method()) {
	case protocol.MethodDidChangeStatus:
		var st protocol.Status
		if err := json.Unmarshal(append([]byte(nil), req.Params()...), &st); err == nil {
			b.mu.Lock()
			if st.PID != 0 && st.PID != b.status.PID {
				// The backend reports a new process as soon as it has
				// spawned it.
				b.djangoAt = time.Now()
			}
			b.status = st
			close(b.changed)
			b.changed = make(chan struct{})
			b.mu.Unlock()
		}
	case protocol.MethodShowMessage:
		var m protocol.ShowMessageParams
		if err := json.Unmarshal(append([]byte(nil), req.Params()...), &m); err == nil {
			b.mu.Lock()
			b.warnings = append(b.warnings, m.Message)
			b.mu.Unlock()
		}
	}
	return nil, nil // showMessageRequest: no choice, as a user who ignores it
}

// waitState waits until the latest status is in state.
func (b *backend) waitState(state protocol.State, timeout time.Duration) (protocol.Status, error) {
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		st, ch := b.status, b.changed
		b.mu.Unlock()
		if st.State == state {
			return st, nil
		}
		if st.State == protocol.StateFailed && st.Error != nil {
			return st, fmt.Errorf("the server failed: %s: %s", st.Error.Code, st.Error.Message)
		}
		select {
		case <-ch:
		case <-deadline:
			return st, fmt.Errorf("still %s after %s, not %s%s", st.State, timeout, state, b.stderr.text())
		case <-b.exited:
			return st, fmt.Errorf("the backend exited%s", b.stderr.text())
		}
	}
}

func (b *backend) call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := b.conn.Call(ctx, method, params, result)
	return err
}

// startServer starts the folder's server and waits until it accepts.
func (b *backend) startServer() error {
	var st protocol.Status
	if err := b.call(protocol.MethodStart, protocol.StartParams{}, &st); err != nil {
		return fmt.Errorf("runserver/start: %w", err)
	}
	_, err := b.waitState(protocol.StateRunning, 60*time.Second)
	return err
}

func (b *backend) stopServer() error {
	var st protocol.Status
	if err := b.call(protocol.MethodStop, protocol.FolderParams{}, &st); err != nil {
		return fmt.Errorf("runserver/stop: %w", err)
	}
	if st.State != protocol.StateStopped {
		return fmt.Errorf("runserver/stop replied %s", st.State)
	}
	return nil
}

func (b *backend) didSave(path string) error {
	return b.conn.Notify(context.Background(), protocol.MethodDidSave,
		protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileuri.FromPath(path)}})
}

// shutdown ends the backend as an editor does: shutdown, then exit.
func (b *backend) shutdown() error {
	defer b.conn.Close()
	err := b.call(protocol.MethodShutdown, nil, nil)
	if err == nil {
		err = b.conn.Notify(context.Background(), protocol.MethodExit, nil)
	}
	select {
	case <-b.exited:
	case <-time.After(15 * time.Second):
		b.kill()
		return fmt.Errorf("the backend did not exit after shutdown and exit")
	}
	return err
}

func (b *backend) kill() {
	_ = b.cmd.Process.Kill()
	<-b.exited
}

// tail keeps the last lines a process wrote, to explain a failure.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		t.lines = append(t.lines, l)
	}
	if len(t.lines) > 20 {
		t.lines = t.lines[len(t.lines)-20:]
	}
	return len(p), nil
}

// text is the kept lines, indented under an error message.
func (t *tail) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return "\n    " + strings.Join(t.lines, "\n    ")
}
