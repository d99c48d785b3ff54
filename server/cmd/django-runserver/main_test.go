//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "django-runserver-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "django-runserver")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// backend is the real binary in --stdio mode, driven over its pipes.
type backend struct {
	t      *testing.T
	cmd    *exec.Cmd
	conn   jsonrpc2.Conn
	stderr *bytes.Buffer

	mu       sync.Mutex
	statuses []protocol.Status
	log      []string // Django's output, from runserver/log
}

type stdio struct {
	io.Reader
	io.WriteCloser
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	cmd := exec.Command(binary, "--stdio")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	b := &backend{t: t, cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = &lockedBuffer{b: b.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(stdio{out, in}))
	b.conn.Go(context.Background(), func(_ context.Context, req *jsonrpc2.Request) (any, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch req.Method() {
		case protocol.MethodDidChangeStatus:
			var st protocol.Status
			if json.Unmarshal(req.Params(), &st) == nil {
				b.statuses = append(b.statuses, st)
			}
		case protocol.MethodLog:
			var l protocol.LogParams
			if json.Unmarshal(req.Params(), &l) == nil {
				b.log = append(b.log, string(l.Stream)+": "+l.Text)
			}
		}
		return nil, nil
	})
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Logf("backend stderr:\n%s\nDjango's output:\n%s", b.stderr, strings.Join(b.log, "\n"))
		}
	})
	return b
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (b *backend) call(method string, params, result any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := b.conn.Call(ctx, method, params, result); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
}

// running starts the testdata project in a reload mode and waits until it
// serves.
func (b *backend) running(dir string, port int, mode string) protocol.Status {
	b.t.Helper()
	b.call(protocol.MethodInitialize, protocol.InitializeParams{
		WorkspaceFolders: []protocol.WorkspaceFolder{{URI: fileuri.FromPath(dir), Name: "mysite"}},
		InitializationOptions: &protocol.InitializationOptions{Settings: map[string]any{protocol.SettingsSection: map[string]any{
			"python": testenv.Python(b.t), "address": fmt.Sprintf("127.0.0.1:%d", port), "reload": mode,
		}}},
	}, nil)
	b.call(protocol.MethodStart, nil, nil)
	var st protocol.Status
	testenv.Eventually(b.t, 60*time.Second, "running", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, s := range b.statuses {
			if s.State == protocol.StateRunning {
				st = s
				return true
			}
		}
		return false
	})
	testenv.WaitBody(b.t, st.URL, "Django Runserver sample")
	return st
}

func TestBackendKilledTakesDjangoDown(t *testing.T) {
	for _, mode := range []string{"fast", "django"} {
		t.Run(mode, func(t *testing.T) {
			dir := testenv.Project(t, "mysite")
			port := testenv.FreePort(t)
			b := startBackend(t)
			st := b.running(dir, port, mode)
			tree := descendants(st.PID)
			if len(tree) == 0 {
				t.Fatalf("no Django process under pid %d", st.PID)
			}
			if err := b.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			b.cmd.Wait()
			testenv.Eventually(t, 2*time.Second, fmt.Sprintf("Django processes %v to exit after the backend was killed", tree), func() bool {
				for _, pid := range tree {
					if !testenv.ProcessGone(pid) {
						return false
					}
				}
				return true
			})
			if !testenv.PortFree(port) {
				t.Errorf("port %d is still held after the backend was killed", port)
			}
		})
	}
}

func TestStdinClosedExitsCleanly(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	b := startBackend(t)
	st := b.running(dir, port, "fast")
	tree := descendants(st.PID)
	b.conn.Close() // closes the backend's stdin
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("backend exit after stdin closed: %v, want status 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the backend did not exit after its stdin closed")
	}
	for _, pid := range tree {
		if !testenv.ProcessGone(pid) {
			t.Errorf("Django process %d outlived the backend", pid)
		}
	}
	if !testenv.PortFree(port) {
		t.Errorf("port %d still held", port)
	}
}

func TestTerminalExplainsAHeldPort(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	holder := exec.Command(testenv.Python(t), "-c", fmt.Sprintf(
		"import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',%d))\ns.listen()\nprint('ok',flush=True)\ntime.sleep(600)", port))
	hout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	buf := make([]byte, 3)
	io.ReadFull(hout, buf)

	cmd := exec.Command(binary, "run", "--python", testenv.Python(t), dir, fmt.Sprintf("127.0.0.1:%d", port))
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d (%v), want 1", code, err)
	}
	want := fmt.Sprintf("Port %d is in use by PID %d (", port, holder.Process.Pid)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "Use port ") || !strings.Contains(string(out), "-on-port-conflict nextFree") {
		t.Errorf("output does not explain the conflict (%q) and suggest a port:\n%s", want, out)
	}
}

func TestTerminalServesAndStopsOnInterrupt(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	cmd := exec.Command(binary, "run", "--python", testenv.Python(t), dir, fmt.Sprintf("%d", port))
	var out lockedBuffer
	out.b = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	testenv.WaitBody(t, url, "Django Runserver sample")
	testenv.Rewrite(t, filepath.Join(dir, "polls", "views.py"), "hello from the view", "hello from the terminal")
	testenv.WaitBody(t, url+"hello/", "hello from the terminal")
	testenv.Eventually(t, 10*time.Second, "the reload's status line", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return strings.Contains(out.b.String(), "reloaded in")
	})
	interrupt(t, cmd.Process)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after Ctrl-C: %v", err)
	}
	if !testenv.PortFree(port) {
		t.Errorf("port %d still held after Ctrl-C", port)
	}
	out.mu.Lock()
	text := out.b.String()
	out.mu.Unlock()
	for _, want := range []string{"running at " + url, "stopped"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, text)
		}
	}
}
