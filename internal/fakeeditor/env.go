package fakeeditor

import (
	"os/exec"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
)

// AwaitTimeout bounds a test's wait for the backend: generous, as a loaded
// machine starts Django slowly. A test never waits this long when it passes.
const AwaitTimeout = 60 * time.Second

// Env is an Editor for a test: its helpers fail the test at once, so a test
// reads like a script, and when the test fails it prints the JSON-RPC trace
// and the backend's log. When the test ends, the backend is shut down as an
// editor does, and a spawned one that lingers is killed.
type Env struct {
	*Editor
	T testing.TB
}

// New serves a session in this process: serve is session.Serve.
func New(t testing.TB, serve ServeFunc) *Env {
	t.Helper()
	return newEnv(t, InProcess(serve))
}

// NewBinary spawns the backend binary bin with --stdio: testenv.Binary
// builds it.
func NewBinary(t testing.TB, bin string) *Env {
	t.Helper()
	ed, err := Spawn(exec.Command(bin, "--stdio"))
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, ed)
}

func newEnv(t testing.TB, ed *Editor) *Env {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("JSON-RPC trace (last 400 entries; <- received, -> sent, log is the backend's):\n%s", ed.Trace(400))
		}
		if err := ed.Shutdown(30 * time.Second); err != nil {
			t.Error(err)
		}
		if ed.cmd != nil {
			select {
			case <-ed.done:
			case <-time.After(5 * time.Second):
				ed.Kill()
			}
		}
	})
	return &Env{Editor: ed, T: t}
}

// ok fails the test at once on err.
func (e *Env) ok(err error) {
	e.T.Helper()
	if err != nil {
		e.T.Fatal(err)
	}
}

// Call sends a request and decodes its result, failing the test on an
// error. Editor.Call returns the error instead.
func (e *Env) Call(method string, params, result any) {
	e.T.Helper()
	e.ok(e.Editor.Call(method, params, result))
}

// Notify sends a notification.
func (e *Env) Notify(method string, params any) {
	e.T.Helper()
	e.ok(e.Editor.Notify(method, params))
}

// Initialize opens folders with the djangoRunserver settings.
func (e *Env) Initialize(settings map[string]any, folders ...string) protocol.InitializeResult {
	e.T.Helper()
	return e.InitializeSections(map[string]any{protocol.SettingsSection: settings}, folders...)
}

// InitializeSections opens folders with the whole settings object.
func (e *Env) InitializeSections(sections map[string]any, folders ...string) protocol.InitializeResult {
	e.T.Helper()
	res, err := e.Editor.InitializeSections(sections, folders...)
	e.ok(err)
	return res
}

// Configure sends new djangoRunserver settings.
func (e *Env) Configure(settings map[string]any) {
	e.T.Helper()
	e.ok(e.Editor.Configure(settings))
}

// Save tells the backend that path was saved.
func (e *Env) Save(path string) {
	e.T.Helper()
	e.ok(e.Editor.Save(path))
}

// Start starts folder's server ("" for the only one) and returns the reply.
func (e *Env) Start(folder string) protocol.Status {
	e.T.Helper()
	return e.folderCall(protocol.MethodStart, folder)
}

// Stop stops folder's server ("" for the only one) and returns the reply.
func (e *Env) Stop(folder string) protocol.Status {
	e.T.Helper()
	return e.folderCall(protocol.MethodStop, folder)
}

// Status returns folder's status ("" for the only one).
func (e *Env) Status(folder string) protocol.Status {
	e.T.Helper()
	return e.folderCall(protocol.MethodStatus, folder)
}

func (e *Env) folderCall(method, folder string) protocol.Status {
	e.T.Helper()
	st, err := e.Editor.folderCall(method, folder)
	e.ok(err)
	return st
}

// Await waits until the messages since from meet every expectation, and
// fails the test if they do not within AwaitTimeout.
func (e *Env) Await(from int, exps ...Expectation) {
	e.T.Helper()
	e.AwaitWithin(AwaitTimeout, from, exps...)
}

// AwaitWithin is Await with its own timeout.
func (e *Env) AwaitWithin(timeout time.Duration, from int, exps ...Expectation) {
	e.T.Helper()
	e.ok(e.Editor.Await(timeout, from, exps...))
}

// AwaitState waits for a status of folder ("" for any) in state since
// from, and fails at once if the server fails instead.
func (e *Env) AwaitState(from int, folder string, state protocol.State) protocol.Status {
	e.T.Helper()
	var st protocol.Status
	e.Await(from, State(folder, state, &st))
	return st
}

// StartRunning starts folder's server ("" for the only one) and waits
// until it runs.
func (e *Env) StartRunning(folder string) protocol.Status {
	e.T.Helper()
	from := e.Mark()
	e.Start(folder)
	return e.AwaitState(from, folder, protocol.StateRunning)
}

// AwaitStateThrough waits for a status of folder in state, through
// failures.
func (e *Env) AwaitStateThrough(from int, folder string, state protocol.State) protocol.Status {
	e.T.Helper()
	var st protocol.Status
	e.Await(from, StateThrough(folder, state, &st))
	return st
}

// AwaitStatusWithin waits up to timeout for a status of folder ("" for
// any) that satisfies cond, through failures.
func (e *Env) AwaitStatusWithin(timeout time.Duration, from int, folder, what string, cond func(protocol.Status) bool) protocol.Status {
	e.T.Helper()
	var st protocol.Status
	e.AwaitWithin(timeout, from, StatusWhere(folder, what, cond, &st))
	return st
}

// AwaitDiagnostics waits until the latest diagnostics for the file uri
// satisfy cond, and returns them.
func (e *Env) AwaitDiagnostics(uri, what string, cond func([]protocol.Diagnostic) bool) []protocol.Diagnostic {
	e.T.Helper()
	e.Await(0, DiagnosticsWhere(uri, what, cond))
	d, _ := Diagnostics(e.Since(0), uri)
	return d
}

// AwaitQuiet waits until no status of folder ("" for any) has come for
// quiet, and fails the test if that takes longer than timeout: for what
// a burst of events still has in flight to land.
func (e *Env) AwaitQuiet(folder string, quiet, timeout time.Duration) {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for e.Editor.Await(quiet, e.Mark(), AnyStatus(folder)) == nil {
		if time.Now().After(deadline) {
			e.T.Fatalf("statuses kept coming for %s; the last: %s", timeout, Summary(e.Since(max(0, e.Mark()-20))))
		}
	}
}

// Statuses returns the statuses of folder ("" for any) since from.
func (e *Env) Statuses(from int, folder string) []protocol.Status {
	return Statuses(e.Since(from), folder)
}

// States lists the states of folder ("" for any) since from.
func (e *Env) States(from int, folder string) []protocol.State {
	var out []protocol.State
	for _, st := range e.Statuses(from, folder) {
		out = append(out, st.State)
	}
	return out
}

// LogLines returns Django's output since from.
func (e *Env) LogLines(from int) []protocol.LogParams { return LogLines(e.Since(from)) }

// Texts returns the texts of method's messages since from.
func (e *Env) Texts(from int, method string) []string { return Texts(e.Since(from), method) }

// Close shuts the backend down as an editor does, and waits for it; the
// test's end does it too.
func (e *Env) Close() {
	e.T.Helper()
	e.ok(e.Shutdown(30 * time.Second))
}

// Exit waits for the backend to end and returns its exit code.
func (e *Env) Exit() int {
	e.T.Helper()
	code, ok := e.Exited(30 * time.Second)
	if !ok {
		e.T.Fatal("the backend did not exit")
	}
	return code
}
