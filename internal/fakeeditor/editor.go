// Package fakeeditor drives the backend as an editor does, for tests and the
// benchmark: a real jsonrpc2 connection to the real backend, either served in
// this process over in-memory pipes or spawned as the built binary over
// stdio. It records every message in both directions, answers the backend's
// requests as its user says, and waits for what a test expects by checking
// the expectations again on each message that arrives, as gopls's
// integration harness does.
//
// Editor returns errors, for code without a testing.T; Env wraps it for
// tests with helpers that fail fast and print the JSON-RPC trace.
package fakeeditor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// CallTimeout bounds a request's reply. Generous: the machine may be loaded,
// and a start or stop waits for Django.
const CallTimeout = 60 * time.Second

// ServeFunc serves the protocol on r and w until the session ends, and
// returns the exit code: session.Serve. It is a parameter so that the
// session's own tests can use this package without an import cycle.
type ServeFunc func(ctx context.Context, r io.ReadCloser, w io.WriteCloser, logger *log.Logger) int

// Message is one message the backend sent: a notification or a request.
type Message struct {
	At     time.Time
	Method string
	Params json.RawMessage
}

// Editor is one connection to a backend.
type Editor struct {
	conn jsonrpc2.Conn
	in   io.WriteCloser // the backend's stdin
	cmd  *exec.Cmd      // the binary, when there is one
	done chan struct{}  // closed when the backend has exited
	code int            // the backend's exit code; valid after done

	stderr bytes.Buffer // the backend's log; guarded by mu

	mu sync.Mutex
	// msgs is every message received, in order; each arrival closes
	// arrived and replaces it, which wakes the awaiters.
	msgs    []Message
	arrived chan struct{}
	trace   []string
	answer  func(protocol.ShowMessageRequestParams) string
}

// pipe joins a reader and a writer into the stream jsonrpc2 frames.
type pipe struct {
	io.Reader
	io.WriteCloser
}

func newEditor() *Editor {
	return &Editor{done: make(chan struct{}), arrived: make(chan struct{})}
}

// InProcess serves a session in this process, so the race detector and
// leak checks see the backend's goroutines.
func InProcess(serve ServeFunc) *Editor {
	ed := newEditor()
	toServerR, toServerW := io.Pipe()
	toClientR, toClientW := io.Pipe()
	ed.in = toServerW
	logger := log.New(stderrWriter{ed}, "", log.Lmicroseconds)
	go func() {
		ed.code = serve(context.Background(), toServerR, toClientW, logger)
		toClientW.Close()
		close(ed.done)
	}()
	ed.connect(pipe{toClientR, toServerW})
	return ed
}

// Spawn starts cmd, the built backend with --stdio, and speaks to it over
// its stdin and stdout; its stderr is recorded. The caller sets cmd's
// arguments, environment and process attributes.
func Spawn(cmd *exec.Cmd) (*Editor, error) {
	ed := newEditor()
	ed.cmd = cmd
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderrWriter{ed}
	ed.in = in
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot run the backend %s: %w", cmd.Path, err)
	}
	go func() {
		_ = cmd.Wait()
		ed.code = cmd.ProcessState.ExitCode()
		close(ed.done)
	}()
	ed.connect(pipe{out, in})
	return ed, nil
}

func (ed *Editor) connect(rwc io.ReadWriteCloser) {
	ed.conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(rwc))
	ed.conn.Go(context.Background(), ed.handle)
}

// handle records what the backend sends and answers its requests. It never
// calls the backend back, so it needs no jsonrpc2.Async, and it returns nil
// for notifications, as jsonrpc2 requires.
func (ed *Editor) handle(_ context.Context, req *jsonrpc2.Request) (any, error) {
	// The request borrows the frame: copy what is kept.
	m := Message{At: time.Now(), Method: strings.Clone(req.Method()), Params: append(json.RawMessage(nil), req.Params()...)}
	ed.record("<-", m.Method+" "+string(m.Params))
	ed.mu.Lock()
	ed.msgs = append(ed.msgs, m)
	close(ed.arrived)
	ed.arrived = make(chan struct{})
	answer := ed.answer
	ed.mu.Unlock()
	if m.Method == protocol.MethodShowDocument {
		return protocol.ShowDocumentResult{Success: true}, nil // recorded; the test reads what it asked
	}
	if m.Method != protocol.MethodShowMessageRequest || answer == nil {
		return nil, nil // a notification, or a prompt the user leaves unanswered
	}
	var p protocol.ShowMessageRequestParams
	if err := json.Unmarshal(m.Params, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", jsonrpc2.ErrInvalidParams, err)
	}
	if title := answer(p); title != "" {
		ed.record("->", "answer "+title)
		return protocol.MessageActionItem{Title: title}, nil
	}
	return nil, nil
}

// Answer sets how the user answers window/showMessageRequest: with the
// title of the action chosen, or "" for none. Without it no action is
// chosen, as by a user who dismisses the prompt.
func (ed *Editor) Answer(choose func(protocol.ShowMessageRequestParams) string) {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	ed.answer = choose
}

// stderrWriter records the backend's log, in the trace too.
type stderrWriter struct{ ed *Editor }

func (w stderrWriter) Write(b []byte) (int, error) {
	w.ed.mu.Lock()
	w.ed.stderr.Write(b)
	w.ed.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.ed.record("log", line)
	}
	return len(b), nil
}

// record adds an entry to the trace; long ones are cut, as a trace is read
// by a person.
func (ed *Editor) record(dir, msg string) {
	if len(msg) > 400 {
		msg = fmt.Sprintf("%s… (%d bytes)", msg[:400], len(msg))
	}
	ed.mu.Lock()
	defer ed.mu.Unlock()
	ed.trace = append(ed.trace, time.Now().Format("15:04:05.000")+" "+dir+" "+msg)
}

// Trace is the last n entries of the JSON-RPC trace, with the backend's log
// interleaved: "->" is sent, "<-" received.
func (ed *Editor) Trace(n int) string {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	t := ed.trace
	if len(t) > n {
		t = t[len(t)-n:]
	}
	return strings.Join(t, "\n")
}

// Stderr is everything the backend has logged.
func (ed *Editor) Stderr() string {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return ed.stderr.String()
}

// PID is the spawned backend's process id, or 0 in process.
func (ed *Editor) PID() int {
	if ed.cmd == nil {
		return 0
	}
	return ed.cmd.Process.Pid
}

// Done is closed when the backend has exited.
func (ed *Editor) Done() <-chan struct{} { return ed.done }

// Exited waits up to timeout for the backend to end, and returns its exit
// code.
func (ed *Editor) Exited(timeout time.Duration) (code int, ok bool) {
	select {
	case <-ed.done:
		return ed.code, true
	case <-time.After(timeout):
		return 0, false
	}
}

// Raw writes bytes to the backend's input as they are: hand-made or broken
// frames.
func (ed *Editor) Raw(b []byte) error {
	ed.record("->", fmt.Sprintf("raw %q", b))
	_, err := ed.in.Write(b)
	return err
}

// CloseInput closes the backend's stdin, as an editor that dies does.
func (ed *Editor) CloseInput() error {
	ed.record("->", "close stdin")
	return ed.in.Close()
}

// Kill kills the spawned backend and waits for it to end.
func (ed *Editor) Kill() {
	if ed.cmd == nil {
		return
	}
	ed.record("->", "kill")
	_ = ed.cmd.Process.Kill()
	<-ed.done
}

// Call sends a request and decodes its result into result, if not nil.
func (ed *Editor) Call(method string, params, result any) error {
	return ed.CallTimeout(CallTimeout, method, params, result)
}

// CallTimeout is Call with its own bound on the reply.
func (ed *Editor) CallTimeout(timeout time.Duration, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	b, _ := json.Marshal(params)
	ed.record("->", method+" "+string(b))
	var raw json.RawMessage
	_, err := ed.conn.Call(ctx, method, params, &raw)
	ed.record("<-", fmt.Sprintf("reply to %s: %s %v", method, raw, err))
	if err == nil && result != nil {
		err = json.Unmarshal(raw, result)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

// Notify sends a notification.
func (ed *Editor) Notify(method string, params any) error {
	b, _ := json.Marshal(params)
	ed.record("->", method+" "+string(b))
	if err := ed.conn.Notify(context.Background(), method, params); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

// Initialize opens folders with the djangoRunserver settings, and sends
// initialized.
func (ed *Editor) Initialize(settings map[string]any, folders ...string) (protocol.InitializeResult, error) {
	return ed.InitializeSections(map[string]any{protocol.SettingsSection: settings}, folders...)
}

// InitializeSections is Initialize with the whole settings object, every
// section included.
func (ed *Editor) InitializeSections(sections map[string]any, folders ...string) (protocol.InitializeResult, error) {
	var wf []protocol.WorkspaceFolder
	for _, f := range folders {
		wf = append(wf, protocol.WorkspaceFolder{URI: fileuri.FromPath(f), Name: filepath.Base(f)})
	}
	var res protocol.InitializeResult
	err := ed.Call(protocol.MethodInitialize, protocol.InitializeParams{
		WorkspaceFolders:      wf,
		InitializationOptions: &protocol.InitializationOptions{Settings: sections},
		Capabilities: &protocol.ClientCapabilities{Window: &protocol.WindowClientCapabilities{
			ShowDocument: &protocol.ShowDocumentClientCapabilities{Support: true}}},
	}, &res)
	if err == nil {
		err = ed.Notify(protocol.MethodInitialized, struct{}{})
	}
	return res, err
}

// Configure sends new djangoRunserver settings.
func (ed *Editor) Configure(settings map[string]any) error {
	return ed.Notify(protocol.MethodDidChangeConfiguration, protocol.ConfigurationParams{Settings: map[string]any{protocol.SettingsSection: settings}})
}

// Save tells the backend that path was saved.
func (ed *Editor) Save(path string) error {
	return ed.Notify(protocol.MethodDidSave, protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileuri.FromPath(path)}})
}

// Start asks for folder's server ("" for the only folder) and returns the
// reply.
func (ed *Editor) Start(folder string) (protocol.Status, error) {
	return ed.folderCall(protocol.MethodStart, folder)
}

// Stop stops folder's server ("" for the only folder) and returns the reply.
func (ed *Editor) Stop(folder string) (protocol.Status, error) {
	return ed.folderCall(protocol.MethodStop, folder)
}

// Status asks for folder's status ("" for the only folder).
func (ed *Editor) Status(folder string) (protocol.Status, error) {
	return ed.folderCall(protocol.MethodStatus, folder)
}

// folderCall sends a request whose params name a folder, and whose reply
// is its status. FolderParams is StartParams's shape.
func (ed *Editor) folderCall(method, folder string) (protocol.Status, error) {
	var st protocol.Status
	err := ed.Call(method, protocol.FolderParams{Folder: uri(folder)}, &st)
	return st, err
}

func uri(folder string) string {
	if folder == "" {
		return ""
	}
	return fileuri.FromPath(folder)
}

// Shutdown ends the backend as an editor does, shutdown then exit, and
// waits up to timeout for it to exit. The connection is closed after.
func (ed *Editor) Shutdown(timeout time.Duration) error {
	defer func() {
		ed.conn.Close()
		<-ed.conn.Done()
	}()
	select {
	case <-ed.done:
		return nil
	default:
	}
	err := ed.CallTimeout(timeout, protocol.MethodShutdown, nil, nil)
	if err == nil {
		err = ed.Notify(protocol.MethodExit, nil)
	}
	if _, ok := ed.Exited(timeout); !ok {
		return fmt.Errorf("the backend did not exit within %s of shutdown and exit", timeout)
	}
	return err
}
