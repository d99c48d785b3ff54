//go:build linux

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// Bad input: each case gets a JSON-RPC error or a failed Status with a
// clear message, never a panic, and the session keeps serving.

func TestBadFolderURIs(t *testing.T) {
	ws := tinyProject(t, t.TempDir(), "ws", "v1")
	outside := tinyProject(t, t.TempDir(), "outside", "v1")
	child := tinyProject(t, ws, "child", "v1") // a Django project inside the workspace folder
	link := filepath.Join(ws, "link-out")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	ed := newEditor(t)
	ed.Initialize(settings(t, testenv.FreePort(t)), ws)

	uris := []struct{ name, uri, hint string }{
		{"outside the workspace", fileuri.FromPath(outside), "not a workspace folder"},
		{"parent of the workspace", fileuri.FromPath(filepath.Dir(ws)), "not a workspace folder"},
		{"child of the workspace", fileuri.FromPath(child), "not a workspace folder"},
		{"dot-dot out of the workspace", fileuri.FromPath(ws) + "/../outside", "not a workspace folder"},
		{"symlink out of the workspace", fileuri.FromPath(link), "not a workspace folder"},
		{"missing folder", fileuri.FromPath(filepath.Join(ws, "nope")), "not a workspace folder"},
		{"relative", "ws", "not a file:// URI"},
		{"relative path with scheme", "file:ws", "not an absolute"},
		{"http", "http://example.com/ws", "not a file:// URI"},
		{"untitled", "untitled:Untitled-1", "not a file:// URI"},
		{"remote", "vscode-remote://ssh-remote+box/home/me/ws", "not a file:// URI"},
		{"other host", "file://other-host" + ws, "names host"},
		{"malformed escape", "file:///%zz", "not a valid URI"},
		{"control character", "file:///tmp/\x00x", "not a valid URI"},
		{"only colons", ":::", "not a valid URI"},
	}
	methods := []string{protocol.MethodStart, protocol.MethodStop, protocol.MethodRestart, protocol.MethodStatus}
	for _, u := range uris {
		for _, m := range methods {
			t.Run(u.name+"/"+m, func(t *testing.T) {
				err := ed.Editor.Call(m, protocol.StartParams{Folder: u.uri}, nil)
				if code := fakeeditor.ErrorCode(err); code != int64(jsonrpc2.InvalidParams) {
					t.Fatalf("%s of %q: %v (code %d), want InvalidParams", m, u.uri, err, code)
				}
				if !strings.Contains(err.Error(), u.hint) {
					t.Errorf("%s of %q: message %q does not say %q", m, u.uri, err, u.hint)
				}
			})
		}
	}
	// Saves of documents in no workspace folder, or not files at all, do
	// nothing.
	for _, u := range uris {
		ed.Notify(protocol.MethodDidSave, protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: u.uri + "/tinyapp.py"}})
	}
	// Nothing ran anywhere, and the session still serves the real folder.
	if st := ed.Status(ws); st.State != protocol.StateStopped {
		t.Errorf("workspace folder is %s after bad requests", st.State)
	}
	for _, dir := range []string{outside, child} {
		if p := pids(dir, 0); len(p) > 0 {
			t.Errorf("a process runs for a folder outside the workspace: %v", p)
		}
	}
}

func TestBadParams(t *testing.T) {
	ws, _, ed := openTiny(t, newEditor, "ws", "v1")
	for _, tc := range []struct {
		method string
		params any
		hint   string
	}{
		{protocol.MethodStart, map[string]any{"folder": 42}, "folder"},
		{protocol.MethodStart, map[string]any{"folder": []string{"a"}}, "folder"},
		{protocol.MethodStart, map[string]any{"address": true}, "address"},
		{protocol.MethodStart, "127.0.0.1:8000", "invalid params"},
		{protocol.MethodStop, []int{1, 2}, "invalid params"},
		{protocol.MethodStatus, 7, "invalid params"},
		{protocol.MethodRestart, map[string]any{"folder": map[string]any{"uri": "x"}}, "folder"},
		{protocol.MethodDidChangeWorkspaceFolders, map[string]any{"event": "x"}, ""}, // a notification: no reply
	} {
		name := fmt.Sprintf("%s %v", tc.method, tc.params)
		t.Run(name, func(t *testing.T) {
			if tc.hint == "" {
				ed.Notify(tc.method, tc.params)
				return
			}
			err := ed.Editor.Call(tc.method, tc.params, nil)
			if code := fakeeditor.ErrorCode(err); code != int64(jsonrpc2.InvalidParams) || !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("%s(%v) = %v (code %d), want InvalidParams naming %q", tc.method, tc.params, err, code, tc.hint)
			}
		})
	}
	if st := ed.Status(ws); st.State != protocol.StateStopped {
		t.Errorf("state after bad params: %s", st.State)
	}
}

// TestWrongSettingTypes: every setting of the wrong type is named in an
// error message, a start fails with invalid-settings, and nothing is
// spawned.
func TestWrongSettingTypes(t *testing.T) {
	ws, port, ed := openTiny(t, newEditor, "ws", "v1")
	for _, tc := range []struct {
		key   string
		value any
	}{
		{"python", 3},
		{"python", []string{"/usr/bin/python3"}},
		{"managePy", false},
		{"address", 8000},
		{"address", map[string]any{"port": 8000}},
		{"args", "--noreload"},
		{"args", []any{1, 2}},
		{"args", []any{"ok", nil}},
		{"env", []string{"A=1"}},
		{"env", map[string]any{"A": 1}},
		{"env", map[string]any{"A": map[string]any{}}},
		{"env", map[string]any{"": "empty name"}},
		{"env", map[string]any{"A=B": "equals in name"}},
		{"envFile", map[string]any{}},
		{"envFile", 1.5},
		{"reload", "sometimes"},
		{"reload", true},
		{"watchExclude", "node_modules"},
		{"watchExclude", []any{[]any{}}},
		{"onPortConflict", "maybe"},
		{"onPortConflict", 1},
		{"startupTimeout", "10"},
		{"startupTimeout", -1},
	} {
		t.Run(fmt.Sprintf("%s=%v", tc.key, tc.value), func(t *testing.T) {
			from := ed.Mark()
			ed.Configure(settings(t, port, tc.key, tc.value))
			ed.AwaitWithin(10*time.Second, from, fakeeditor.TextContains(protocol.MethodShowMessage, ""))
			errMsg := ed.Texts(from, protocol.MethodShowMessage)[0]
			if !strings.Contains(errMsg, "djangoRunserver."+tc.key) {
				t.Errorf("message %q does not name djangoRunserver.%s", errMsg, tc.key)
			}
			st := ed.Start(ws)
			if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != protocol.CodeInvalidSettings {
				t.Fatalf("start = %s %+v, want failed invalid-settings", st.State, st.Error)
			}
			if !fakeeditor.NamesSetting(st.Error, tc.key) {
				t.Errorf("failed with %+v, which does not name the setting %s", st.Error, tc.key)
			}
			if st.PID != 0 || len(pids(ws, 0)) > 0 {
				t.Errorf("a process was spawned with invalid settings")
			}
		})
	}

	// Bad settings arriving while a server runs leave it running; fixing
	// them makes the next start work.
	ed.Configure(settings(t, port))
	running := ed.StartRunning(ws)
	from := ed.Mark()
	ed.Configure(settings(t, port, "args", "not-an-array"))
	ed.AwaitWithin(10*time.Second, from, fakeeditor.TextContains(protocol.MethodShowMessage, "")) // the bad settings have landed
	if st := ed.Status(ws); st.State != protocol.StateRunning || st.PID != running.PID {
		t.Errorf("after bad settings the running server became %s pid %d", st.State, st.PID)
	}
	waitBody(t, running.URL, "tiny v1", 10*time.Second)
	ed.Stop(ws)
}

func TestBadEnvFile(t *testing.T) {
	ws, port, ed := openTiny(t, newEditor, "ws", "v1")
	writeFile(t, filepath.Join(ws, "dir.env", "x"), "")
	for _, tc := range []struct {
		name, file, content, hint string
	}{
		{"missing", "missing.env", "", "Cannot read the environment file"},
		{"a directory", "dir.env", "", "is a directory"},
		{"no equals sign", "a.env", "OK=1\nJUST_A_WORD\n", "line 2"},
		{"invalid name", "b.env", "my-key=1\n", "line 1"},
		{"unterminated quote", "c.env", "A=\"open\n", "unterminated"},
		{"text after quote", "d.env", "A='x' y\n", "after the closing quote"},
		{"line over 1 MB", "e.env", "A=" + strings.Repeat("x", 2<<20) + "\n", "token too long"},
		{"binary", "f.env", "\x00\x01\x02\xff\xfe", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content != "" {
				writeFile(t, filepath.Join(ws, tc.file), tc.content)
			}
			ed.Configure(settings(t, port, "envFile", tc.file))
			st := ed.Start(ws)
			if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != protocol.CodeInvalidSettings {
				t.Fatalf("start = %s %+v, want failed invalid-settings", st.State, st.Error)
			}
			if !strings.Contains(st.Error.Message, tc.hint) || !fakeeditor.NamesSetting(st.Error, "envFile") {
				t.Errorf("message %q does not say %q about the envFile", st.Error.Message, tc.hint)
			}
			if len(st.Error.Message) > 2000 {
				t.Errorf("message is %d bytes long", len(st.Error.Message))
			}
		})
	}
}

// TestOddPaths: a project under a path with spaces and non-ASCII letters,
// with an envFile and a manage.py one level down, starts, reloads and stops.
func TestOddPaths(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "with space", "ünïcødé 项目 ✓", "a'quote \"and\" $dollar")
	ws := tinyProject(t, parent, "my project", "v1")
	port := testenv.FreePort(t)
	writeFile(t, filepath.Join(ws, "dev env", ".env ü"), "GREETING='héllo wörld'\n")
	ed := newEditor(t)
	ed.Initialize(settings(t, port, "envFile", filepath.Join("dev env", ".env ü")), ws)
	running := ed.StartRunning(ws)
	waitBody(t, running.URL, "tiny v1", 10*time.Second)

	from := ed.Mark()
	ed.Save(setVersion(t, ws, "v2 ✓"))
	ed.AwaitStatusWithin(30*time.Second, from, ws, "running after the save", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID != running.PID
	})
	waitBody(t, running.URL, "tiny v2 ✓", 10*time.Second)

	// A file whose name holds a newline cannot be sent on the reloader's
	// line protocol; it is skipped, and nothing breaks.
	odd := filepath.Join(ws, "evil\nname.py")
	writeFile(t, odd, "x = 1\n")
	ed.Save(odd)
	if st := ed.Status(ws); st.State != protocol.StateRunning {
		t.Errorf("after saving %q: %s", odd, st.State)
	}
	if st := ed.Stop(ws); st.State != protocol.StateStopped {
		t.Errorf("stop: %s", st.State)
	}

	// The same project found one level down, and named by a managePy
	// setting with spaces.
	outer := filepath.Dir(ws)
	ed2 := newEditor(t)
	ed2.Initialize(settings(t, port, "managePy", filepath.Join("my project", "manage.py")), outer)
	from = ed2.Mark()
	ed2.Start(outer)
	running = ed2.AwaitState(from, outer, protocol.StateRunning)
	waitBody(t, running.URL, "tiny v2 ✓", 10*time.Second)
	ed2.Stop(outer)
}

// TestManagePyExitsAtOnce: a manage.py that ends before serving is failed
// with its exit status or traceback, and the next start tries again.
func TestManagePyExitsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		want       protocol.ErrorCode
		hint       string
	}{
		{"exit 0", "import sys\nsys.exit(0)\n", protocol.CodeCrashed, "exited with status 0"},
		{"exit 1", "import sys\nsys.exit(1)\n", protocol.CodeCrashed, "exited with status 1"},
		{"exit with a message", "raise SystemExit('manage.py gave up: no settings')\n", protocol.CodeCrashed, "manage.py gave up: no settings"},
		{"os._exit(7)", "import os\nos._exit(7)\n", protocol.CodeCrashed, "exited with status 7"},
		{"killed by a signal", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", protocol.CodeCrashed, "killed by a signal"},
		{"exception", "raise RuntimeError('settings are broken')\n", protocol.CodeStartupFailed, "RuntimeError: settings are broken"},
		{"syntax error", "def broken(:\n    pass\n", protocol.CodeStartupFailed, "SyntaxError"},
		{"empty file", "", protocol.CodeCrashed, "exited with status 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeProject(t, tc.code)
			ed := newEditor(t)
			ed.Initialize(settings(t, testenv.FreePort(t)), dir)
			for attempt := range 2 {
				from := ed.Mark()
				ed.Start(dir)
				st := ed.AwaitState(from, dir, protocol.StateFailed)
				if st.Error == nil || st.Error.Code != tc.want {
					t.Fatalf("attempt %d: failed with %+v, want %s", attempt, st.Error, tc.want)
				}
				if !strings.Contains(st.Error.Message, tc.hint) {
					t.Errorf("message %q does not say %q", st.Error.Message, tc.hint)
				}
				if st.Error.Code == protocol.CodeCrashed && st.Error.ExitCode == nil {
					t.Errorf("crashed without an exit code: %+v", st.Error)
				}
				if p := pids(dir, 0); len(p) > 0 {
					t.Errorf("processes left: %v", p)
				}
			}
		})
	}
}

// TestStartupTimeout: a manage.py that never serves is killed after
// startupTimeout and reported startup-timeout, with its whole process
// group, even when it ignores the interrupt.
func TestStartupTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, code string
	}{
		{"sleeps", "import time\ntime.sleep(600)\n"},
		{"ignores SIGINT and has a child", "import signal, subprocess, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nsubprocess.Popen(['sleep', '600'])\nwhile True:\n    time.sleep(1)\n"},
		{"busy loop printing", "import sys\nwhile True:\n    print('still checking...', flush=True)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeProject(t, tc.code)
			ed := newEditor(t)
			ed.Initialize(settings(t, testenv.FreePort(t), "startupTimeout", 1), dir)
			from := ed.Mark()
			began := time.Now()
			st := ed.Start(dir)
			if st.State != protocol.StateStarting || st.PID == 0 {
				t.Fatalf("start = %+v", st)
			}
			failed := ed.AwaitState(from, dir, protocol.StateFailed)
			took := time.Since(began)
			if failed.Error == nil || failed.Error.Code != protocol.CodeStartupTimeout || !fakeeditor.NamesSetting(failed.Error, "startupTimeout") {
				t.Fatalf("failed with %+v, want startup-timeout naming the setting", failed.Error)
			}
			if took < 900*time.Millisecond || took > 10*time.Second {
				t.Errorf("startup-timeout after %s, want about 1 s", took)
			}
			// The interrupt first, the kill after the grace period (3 s).
			if !eventually(6*time.Second, func() bool { return gone(st.PID) && len(pids("", st.PID)) == 0 }) {
				t.Fatalf("process group %d still alive after the startup timeout: %v", st.PID, pids("", st.PID))
			}
			t.Logf("%s: failed after %s, process group gone after %s", tc.name, took.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
		})
	}
}

// TestNotAPython: interpreters that are not Python fail with
// python-not-found and a message that names the setting.
func TestNotAPython(t *testing.T) {
	tmp := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notExec := filepath.Join(tmp, "not-executable")
	writeFile(t, notExec, "#!/bin/sh\necho python 3\n")
	garbage := script("garbage", "\x7fELF\x00\x01garbage that is no program")
	const names = "" // the error names the python setting
	for _, tc := range []struct{ name, python, hint string }{
		{"missing", "/nonexistent/python3", names},
		{"not on PATH", "python-does-not-exist-anywhere", "not on PATH"},
		{"true", "/bin/true", "not a Python 3 interpreter"},
		{"prints hello", script("hello", "#!/bin/sh\necho hello\n"), "not a Python 3 interpreter"},
		{"python 2 impostor", script("python2", "#!/bin/sh\necho python 2\n"), "not a Python 3 interpreter"},
		{"fails", script("fails", "#!/bin/sh\necho broken >&2\nexit 127\n"), names},
		{"a directory", tmp, names},
		{"not executable", notExec, names},
		{"garbage binary", garbage, names},
		{"shell metacharacters", "python3; touch " + filepath.Join(tmp, "pwned"), names},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _, ed := openTiny(t, newEditor, "ws", "v1", "python", tc.python)
			st := ed.Start(dir)
			if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != protocol.CodePythonNotFound {
				t.Fatalf("start = %s %+v, want failed python-not-found", st.State, st.Error)
			}
			if tc.hint == names && !fakeeditor.NamesSetting(st.Error, "python") {
				t.Errorf("failed with %+v, which does not name the python setting", st.Error)
			}
			if !strings.Contains(st.Error.Message, tc.hint) {
				t.Errorf("message %q does not say %q", st.Error.Message, tc.hint)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(tmp, "pwned")); err == nil {
		t.Error("a python setting with shell metacharacters ran a shell")
	}
}
