//go:build linux

package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/session"
)

// editor is a fake editor. It drives the real backend, either in this
// process (session.Serve over io.Pipes, so -race and goleak see it) or as
// the built binary over stdio (so it can be killed), with a real jsonrpc2
// connection. It records every message, and prints the JSON-RPC trace and
// the backend's stderr when a test fails.
type editor struct {
	t    testing.TB
	conn jsonrpc2.Conn
	raw  io.Writer     // the backend's stdin, for hand-made frames
	in   io.Closer     // closes the backend's stdin
	done chan struct{} // closed when the backend has exited
	code int           // the backend's exit code; valid after done

	cmd    *exec.Cmd   // the binary, when there is one
	stderr *syncBuffer // the backend's own log

	mu    sync.Mutex
	notes []note
	trace []string
}

type note struct {
	method string
	params json.RawMessage
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type pipe struct {
	io.Reader
	io.WriteCloser
}

// newEditor serves a session in this process.
func newEditor(t testing.TB) *editor {
	t.Helper()
	toServerR, toServerW := io.Pipe()
	toClientR, toClientW := io.Pipe()
	ed := &editor{t: t, raw: toServerW, in: toServerW, done: make(chan struct{}), stderr: &syncBuffer{}}
	go func() {
		ed.code = session.Serve(context.Background(), toServerR, toClientW, log.New(ed.stderr, "backend: ", log.Lmicroseconds))
		toClientW.Close()
		close(ed.done)
	}()
	ed.connect(t, pipe{toClientR, toServerW})
	return ed
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// backendBinary builds bin/django-runserver once, into a temporary folder.
func backendBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reliability-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "django-runserver")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goTool, "build", "-o", binPath, "./server/cmd/django-runserver")
		cmd.Dir = testenv.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// newBinaryEditor starts the built backend with --stdio.
func newBinaryEditor(t testing.TB) *editor {
	t.Helper()
	cmd := exec.Command(backendBinary(t), "--stdio")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ed := &editor{t: t, raw: stdin, in: stdin, done: make(chan struct{}), cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = ed.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		ed.code = cmd.ProcessState.ExitCode()
		close(ed.done)
	}()
	// Registered first, so it runs after connect's cleanup has shut the
	// backend down: whatever still runs then is killed.
	t.Cleanup(func() {
		select {
		case <-ed.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-ed.done
		}
	})
	ed.connect(t, pipe{stdout, stdin})
	return ed
}

func (ed *editor) connect(t testing.TB, rwc io.ReadWriteCloser) {
	ed.conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(rwc))
	ed.conn.Go(context.Background(), ed.handle)
	t.Cleanup(func() {
		if t.Failed() {
			ed.mu.Lock()
			t.Logf("JSON-RPC trace (last 400 entries):\n%s", strings.Join(lastN(ed.trace, 400), "\n"))
			ed.mu.Unlock()
			t.Logf("backend stderr (tail):\n%s", tail(ed.stderr.String(), 8000))
		}
		ed.close()
	})
}

// close shuts the backend down as an editor does, and waits for it.
func (ed *editor) close() {
	select {
	case <-ed.done:
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = ed.conn.Call(ctx, protocol.MethodShutdown, nil, nil)
		_ = ed.conn.Notify(ctx, protocol.MethodExit, nil)
		select {
		case <-ed.done:
		case <-time.After(30 * time.Second):
			ed.t.Error("the backend did not exit after shutdown and exit")
		}
	}
	ed.conn.Close()
	<-ed.conn.Done()
}

func (ed *editor) handle(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	// The request borrows the frame: copy what is kept.
	method := strings.Clone(req.Method())
	params := json.RawMessage(append([]byte(nil), req.Params()...))
	ed.log("<-", method+" "+string(params))
	ed.mu.Lock()
	ed.notes = append(ed.notes, note{method, params})
	ed.mu.Unlock()
	return nil, nil // showMessageRequest: no action chosen
}

func (ed *editor) log(dir, msg string) {
	if len(msg) > 400 {
		msg = msg[:400] + fmt.Sprintf("… (%d bytes)", len(msg))
	}
	ed.mu.Lock()
	defer ed.mu.Unlock()
	ed.trace = append(ed.trace, fmt.Sprintf("%s %-2s %s", time.Now().Format("15:04:05.000"), dir, msg))
}

// call sends a request and decodes its result.
func (ed *editor) call(method string, params, result any) error {
	return ed.callTimeout(60*time.Second, method, params, result)
}

func (ed *editor) callTimeout(timeout time.Duration, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	b, _ := json.Marshal(params)
	ed.log("->", method+" "+string(b))
	var raw json.RawMessage
	_, err := ed.conn.Call(ctx, method, params, &raw)
	ed.log("<-", fmt.Sprintf("reply to %s: %s %v", method, raw, err))
	if err == nil && result != nil {
		err = json.Unmarshal(raw, result)
	}
	return err
}

func (ed *editor) mustCall(method string, params, result any) {
	ed.t.Helper()
	if err := ed.call(method, params, result); err != nil {
		ed.t.Fatalf("%s: %v", method, err)
	}
}

func (ed *editor) notify(method string, params any) {
	ed.t.Helper()
	b, _ := json.Marshal(params)
	ed.log("->", method+" "+string(b))
	if err := ed.conn.Notify(context.Background(), method, params); err != nil {
		ed.t.Fatalf("%s: %v", method, err)
	}
}

// initialize opens folders with settings, and sends initialized.
func (ed *editor) initialize(settings map[string]any, folders ...string) {
	ed.t.Helper()
	ed.initializeSections(map[string]any{protocol.SettingsSection: settings}, folders...)
}

// initializeSections is initialize with the whole settings object
// (djangoRunserver and djangoRunserverFolders).
func (ed *editor) initializeSections(sections map[string]any, folders ...string) {
	ed.t.Helper()
	var wf []protocol.WorkspaceFolder
	for _, f := range folders {
		wf = append(wf, protocol.WorkspaceFolder{URI: fileuri.FromPath(f), Name: filepath.Base(f)})
	}
	var res protocol.InitializeResult
	ed.mustCall(protocol.MethodInitialize, protocol.InitializeParams{
		WorkspaceFolders:      wf,
		InitializationOptions: &protocol.InitializationOptions{Settings: sections},
	}, &res)
	ed.notify(protocol.MethodInitialized, struct{}{})
}

func (ed *editor) configure(settings map[string]any) {
	ed.t.Helper()
	ed.notify(protocol.MethodDidChangeConfiguration, protocol.ConfigurationParams{Settings: map[string]any{protocol.SettingsSection: settings}})
}

func (ed *editor) save(path string) {
	ed.t.Helper()
	ed.notify(protocol.MethodDidSave, protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileuri.FromPath(path)}})
}

// start starts the folder's server and returns the reply.
func (ed *editor) start(folder string) protocol.Status {
	ed.t.Helper()
	var st protocol.Status
	ed.mustCall(protocol.MethodStart, protocol.StartParams{Folder: fileuri.FromPath(folder)}, &st)
	return st
}

func (ed *editor) stop(folder string) protocol.Status {
	ed.t.Helper()
	var st protocol.Status
	ed.mustCall(protocol.MethodStop, protocol.FolderParams{Folder: fileuri.FromPath(folder)}, &st)
	return st
}

func (ed *editor) status(folder string) protocol.Status {
	ed.t.Helper()
	var st protocol.Status
	ed.mustCall(protocol.MethodStatus, protocol.FolderParams{Folder: fileuri.FromPath(folder)}, &st)
	return st
}

// mark is a position in the notifications, to wait for what comes after.
func (ed *editor) mark() int {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return len(ed.notes)
}

func (ed *editor) notesSince(from int) []note {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return append([]note(nil), ed.notes[from:]...)
}

// statusesSince returns the statuses of folder received since from.
func (ed *editor) statusesSince(from int, folder string) []protocol.Status {
	uri := fileuri.FromPath(folder)
	var out []protocol.Status
	for _, n := range ed.notesSince(from) {
		if n.method != protocol.MethodDidChangeStatus {
			continue
		}
		var st protocol.Status
		if err := json.Unmarshal(n.params, &st); err != nil {
			ed.t.Fatalf("bad status %s: %v", n.params, err)
		}
		if st.Folder == uri {
			out = append(out, st)
		}
	}
	return out
}

// await waits until a status of folder since from satisfies cond.
func (ed *editor) await(from int, folder string, timeout time.Duration, what string, cond func(protocol.Status) bool) protocol.Status {
	ed.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, st := range ed.statusesSince(from, folder) {
			if cond(st) {
				return st
			}
		}
		if time.Now().After(deadline) {
			ed.t.Fatalf("timed out after %s waiting for %s; states since: %v", timeout, what, states(ed.statusesSince(from, folder)))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor is await for other goroutines: it returns an error instead of
// failing the test.
func (ed *editor) waitFor(from int, folder string, timeout time.Duration, cond func(protocol.Status) bool) (protocol.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, st := range ed.statusesSince(from, folder) {
			if cond(st) {
				return st, nil
			}
			if st.State == protocol.StateFailed {
				return st, fmt.Errorf("the server failed: %+v", st.Error)
			}
		}
		if time.Now().After(deadline) {
			return protocol.Status{}, fmt.Errorf("timed out after %s; states since: %v", timeout, states(ed.statusesSince(from, folder)))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// awaitState waits for a status in state, and fails fast on an unexpected
// failure.
func (ed *editor) awaitState(from int, folder string, state protocol.State) protocol.Status {
	ed.t.Helper()
	return ed.await(from, folder, 60*time.Second, string(state), func(st protocol.Status) bool {
		if st.State == protocol.StateFailed && state != protocol.StateFailed {
			ed.t.Fatalf("waiting for %s, the server failed: %+v", state, st.Error)
		}
		return st.State == state
	})
}

// messages returns the texts of method (window/showMessage or
// window/logMessage) since from.
func (ed *editor) messages(from int, method string) []string {
	var out []string
	for _, n := range ed.notesSince(from) {
		if n.method == method {
			var p protocol.ShowMessageParams
			_ = json.Unmarshal(n.params, &p)
			out = append(out, p.Message)
		}
	}
	return out
}

// logLines returns the runserver/log lines since from.
func (ed *editor) logLines(from int) []protocol.LogParams {
	var out []protocol.LogParams
	for _, n := range ed.notesSince(from) {
		if n.method == protocol.MethodLog {
			var p protocol.LogParams
			_ = json.Unmarshal(n.params, &p)
			out = append(out, p)
		}
	}
	return out
}

// exited waits for the backend to end and returns its exit code.
func (ed *editor) exited(timeout time.Duration) (int, bool) {
	select {
	case <-ed.done:
		return ed.code, true
	case <-time.After(timeout):
		return 0, false
	}
}

func states(sts []protocol.Status) []string {
	var out []string
	for _, st := range sts {
		s := string(st.State)
		if st.Error != nil {
			s += "(" + string(st.Error.Code) + ")"
		}
		out = append(out, s)
	}
	return out
}

func errCode(err error) int64 {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return int64(e.Code)
	}
	return 0
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
