//go:build linux

package winsmoke

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// Wine's first start in a fresh prefix takes tens of seconds, and every
// Windows process it starts is slow on a loaded machine: deadlines are
// generous, and only bound a hang.
const (
	bootTimeout = 5 * time.Minute
	waitTimeout = 2 * time.Minute
)

// winEnv is what every test shares: the prefix, the binaries built once.
type winEnv struct {
	wine    string   // wine64
	env     []string // WINEPREFIX and friends
	dir     string   // the built binaries
	backend string   // django-runserver.exe
	python  string   // the stand-in interpreter, python.exe
}

var (
	setupOnce sync.Once
	shared    *winEnv
	setupErr  error
)

func setup(t *testing.T) *winEnv {
	t.Helper()
	wine := os.Getenv("DJANGO_RUNSERVER_WINE")
	if wine == "" {
		t.Skip("the Windows smoke test runs under Wine: `make test-wine` sets DJANGO_RUNSERVER_WINE, WINEPREFIX and DJANGO_RUNSERVER_WINE_DLL")
	}
	setupOnce.Do(func() { shared, setupErr = prepare(wine) })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

// prepare boots the prefix if it is new, puts the ProcessPrng stand-in in
// its system32, and cross-builds the backend and the stand-in interpreter.
func prepare(wine string) (*winEnv, error) {
	prefix, dll := os.Getenv("WINEPREFIX"), os.Getenv("DJANGO_RUNSERVER_WINE_DLL")
	if prefix == "" || dll == "" {
		return nil, fmt.Errorf("set WINEPREFIX (a folder to keep Wine's prefix in) and DJANGO_RUNSERVER_WINE_DLL (the built prng/ DLL), as `make test-wine` does")
	}
	w := &winEnv{wine: wine, env: append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=bcryptprimitives=n;mscoree,mshtml=")}
	if _, err := os.Stat(filepath.Join(prefix, "system.reg")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, wine, "wineboot", "--init")
		cmd.Env = w.env
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("wineboot --init in %s: %w\n%s", prefix, err, out)
		}
	}
	b, err := os.ReadFile(dll)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"), b, 0o644); err != nil {
		return nil, err
	}
	w.dir, err = os.MkdirTemp("", "winsmoke-")
	if err != nil {
		return nil, err
	}
	w.backend, w.python = filepath.Join(w.dir, "django-runserver.exe"), filepath.Join(w.dir, "python.exe")
	for pkg, out := range map[string]string{"./server/cmd/django-runserver": w.backend, "./server/internal/winsmoke/standin": w.python} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = testenv.Root()
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cross-building %s: %w\n%s", pkg, err, out)
		}
	}
	return w, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		// Wine's server lingers a few seconds after the last process: end it
		// now, then the binaries can go.
		cmd := exec.Command(filepath.Join(filepath.Dir(shared.wine), "wineserver"), "-k")
		cmd.Env = shared.env
		_ = cmd.Run()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// winPath is a Linux path as Wine's Z: drive shows it.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// editor drives the Windows backend over its stdio, as an editor does, and
// keeps every status it is sent.
type editor struct {
	cmd    *exec.Cmd
	conn   jsonrpc2.Conn
	exited chan struct{}
	stderr *testenv.Buffer

	mu       sync.Mutex
	statuses []protocol.Status
	changed  chan struct{} // closed and replaced on every status
}

type stdio struct {
	io.Reader
	io.WriteCloser
}

// start runs the backend under Wine and initializes it with one folder.
func start(t *testing.T, w *winEnv, folder string, settings map[string]any, extraEnv ...string) *editor {
	t.Helper()
	e := &editor{exited: make(chan struct{}), changed: make(chan struct{}), stderr: &testenv.Buffer{}}
	e.cmd = exec.Command(w.wine, w.backend, "--stdio")
	e.cmd.Env = append(append([]string(nil), w.env...), extraEnv...)
	e.cmd.Stderr = e.stderr
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := e.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	e.conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(stdio{out, in}))
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("cannot run %s under %s: %v", w.backend, w.wine, err)
	}
	go func() { _ = e.cmd.Wait(); close(e.exited) }()
	t.Cleanup(func() {
		_ = e.cmd.Process.Kill()
		<-e.exited
		e.conn.Close()
		if t.Failed() {
			t.Logf("backend stderr:\n%s", e.stderr.String())
		}
	})
	e.conn.Go(context.Background(), e.handle)
	var res protocol.InitializeResult
	e.call(t, protocol.MethodInitialize, protocol.InitializeParams{
		WorkspaceFolders:      []protocol.WorkspaceFolder{{URI: folderURI(folder), Name: "smoke"}},
		InitializationOptions: &protocol.InitializationOptions{Settings: map[string]any{protocol.SettingsSection: settings}},
	}, &res)
	if err := e.conn.Notify(context.Background(), protocol.MethodInitialized, struct{}{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// folderURI is the file URI VS Code on Windows gives a folder on Z:.
func folderURI(p string) string { return "file:///z%3A" + p }

func (e *editor) handle(_ context.Context, req *jsonrpc2.Request) (any, error) {
	if strings.Clone(req.Method()) == protocol.MethodDidChangeStatus {
		var st protocol.Status
		if err := json.Unmarshal(append([]byte(nil), req.Params()...), &st); err == nil {
			e.mu.Lock()
			e.statuses = append(e.statuses, st)
			close(e.changed)
			e.changed = make(chan struct{})
			e.mu.Unlock()
		}
	}
	return nil, nil // showMessageRequest: no choice
}

func (e *editor) call(t *testing.T, method string, params, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := e.conn.Call(ctx, method, params, result); err != nil {
		t.Fatalf("%s: %v\nbackend stderr:\n%s", method, err, e.stderr.String())
	}
}

// await waits for a status in state, checking on each one that arrives.
func (e *editor) await(t *testing.T, state protocol.State) protocol.Status {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		e.mu.Lock()
		n, changed := len(e.statuses), e.changed
		var last protocol.Status
		if n > 0 {
			last = e.statuses[n-1]
		}
		e.mu.Unlock()
		if n > 0 && last.State == state {
			return last
		}
		select {
		case <-changed:
		case <-e.exited:
			t.Fatalf("the backend exited while waiting for %s; last status %+v\nstderr:\n%s", state, last, e.stderr.String())
		case <-deadline:
			t.Fatalf("no %s status within %s; last status %+v\nstderr:\n%s", state, waitTimeout, last, e.stderr.String())
		}
	}
}

// project is a folder the backend accepts as a Django project.
func project(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manage.py"), []byte("# the stand-in interpreter serves instead\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLifecycle(t *testing.T) {
	w := setup(t)
	e := start(t, w, project(t), map[string]any{"python": winPath(w.python)})
	e.call(t, protocol.MethodShutdown, nil, nil)
	if err := e.conn.Notify(context.Background(), protocol.MethodExit, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.exited:
	case <-time.After(waitTimeout):
		t.Fatalf("the backend did not exit after shutdown and exit")
	}
	if code := e.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the backend exited with %d after shutdown and exit, want 0", code)
	}
}

// TestNotPython gives Wine's cmd.exe as the interpreter: the check must say
// it is not Python, quoting what it printed on one line.
func TestNotPython(t *testing.T) {
	w := setup(t)
	cmdExe := `C:\windows\system32\cmd.exe`
	e := start(t, w, project(t), map[string]any{"python": cmdExe, "address": "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))})
	var st protocol.Status
	e.call(t, protocol.MethodStart, protocol.StartParams{}, &st)
	st = e.await(t, protocol.StateFailed)
	if st.Error == nil || st.Error.Code != protocol.CodePythonNotFound || !strings.Contains(st.Error.Message, "is not a Python 3 interpreter") {
		t.Fatalf("failed with %+v, want python-not-found saying cmd.exe is not Python 3", st.Error)
	}
	// cmd.exe ends its lines with \r\n: the quoted line must not keep the
	// \r, raw or escaped by %q.
	if strings.Contains(st.Error.Message, "\r") || strings.Contains(st.Error.Message, `\r`) {
		t.Errorf("the message keeps Windows' carriage return: %q", st.Error.Message)
	}
}

// TestPortInUse holds a port from Linux. Wine's TCP table names no owner
// (every row has PID 0): the message must say "another process", not PID 0.
func TestPortInUse(t *testing.T) {
	w := setup(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	e := start(t, w, project(t), map[string]any{"python": winPath(w.python), "address": "127.0.0.1:" + strconv.Itoa(port), "onPortConflict": "fail"})
	var st protocol.Status
	e.call(t, protocol.MethodStart, protocol.StartParams{}, &st)
	st = e.await(t, protocol.StateFailed)
	want := fmt.Sprintf("Port %d is in use by another process.", port)
	if st.Error == nil || st.Error.Code != protocol.CodePortInUse || !strings.Contains(st.Error.Message, want) || strings.Contains(st.Error.Message, "PID 0") {
		t.Fatalf("failed with %+v, want port-in-use saying %q", st.Error, want)
	}
}

// TestBackendKilledTakesTreeDown starts the stand-in interpreter, which
// serves and starts a child, then kills the backend with SIGKILL: its Job
// Object must end both.
func TestBackendKilledTakesTreeDown(t *testing.T) {
	w := setup(t)
	server, child := "127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)), "127.0.0.1:"+strconv.Itoa(testenv.FreePort(t))
	e := start(t, w, project(t), map[string]any{"python": winPath(w.python), "address": server, "onPortConflict": "fail"},
		"STANDIN_CHILD_ADDR="+child)
	var st protocol.Status
	e.call(t, protocol.MethodStart, protocol.StartParams{}, &st)
	st = e.await(t, protocol.StateRunning)
	if body, err := testenv.Get("http://" + server + "/"); err != nil || body != "standin" {
		t.Fatalf("GET the server: %q, %v", body, err)
	}
	testenv.Eventually(t, waitTimeout, "the stand-in's child to serve "+child, func() bool { return accepts(child) })
	if len(standins(w)) < 2 {
		t.Fatalf("expected the stand-in and its child among the processes, found %v", standins(w))
	}

	if err := e.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-e.exited
	testenv.Eventually(t, waitTimeout, "the server and its child to be gone", func() bool {
		return !accepts(server) && !accepts(child) && len(standins(w)) == 0
	})
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// standins lists the Linux processes of the stand-in interpreter: Wine runs
// each Windows process as one, with the Windows path in its command line.
func standins(w *winEnv) []int {
	var pids []int
	marker := strings.ToLower(filepath.Base(w.dir))
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.ToLower(string(b))
		if strings.Contains(cmdline, marker) && strings.Contains(cmdline, "python.exe") {
			pids = append(pids, pid)
		}
	}
	return pids
}
