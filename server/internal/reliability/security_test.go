//go:build linux

package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// TestDefaultBindIsLoopback: with no address setting the server binds
// 127.0.0.1:8000, and a bare port binds 127.0.0.1 only.
func TestDefaultBindIsLoopback(t *testing.T) {
	dir := tinyProject(t, t.TempDir(), "ws", "v1")
	ed := newEditor(t)
	ed.Initialize(map[string]any{"python": testenv.Python(t), "onPortConflict": "fail"}, dir)
	if st := ed.Status(dir); st.Address != "127.0.0.1:8000" {
		t.Errorf("default address = %q, want 127.0.0.1:8000", st.Address)
	}
	check := func(port int) {
		t.Helper()
		running := ed.StartRunning(dir)
		got := listeners(port)
		if !slices.Equal(got, []string{"127.0.0.1"}) {
			t.Errorf("listening on %v for port %d, want only 127.0.0.1", got, port)
		}
		if !strings.HasPrefix(running.URL, "http://127.0.0.1:") {
			t.Errorf("url = %s", running.URL)
		}
		ed.Stop(dir)
	}
	if testenv.PortFree(8000) {
		check(8000)
	} else {
		t.Log("port 8000 is taken on this machine: the default address is checked by its status only")
	}
	port := testenv.FreePort(t)
	ed.Configure(map[string]any{"python": testenv.Python(t), "onPortConflict": "fail", "address": fmt.Sprint(port)})
	check(port)
}

// TestSettingsNeverReachAShell passes shell metacharacters in args, env and
// envFile: manage.py receives them byte for byte, and no shell ever runs
// the commands they hide.
func TestSettingsNeverReachAShell(t *testing.T) {
	tmp := t.TempDir()
	canary := filepath.Join(tmp, "pwned")
	touch := "touch " + canary
	dump := filepath.Join(tmp, "dump.json")
	dir := fakeProject(t, `import json, os, sys
with open(os.environ["DUMP_TO"], "w") as f:
    json.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items() if k.startswith("EVIL_")}}, f)
`)
	args := []string{"; " + touch, "$(" + touch + ")", "`" + touch + "`", "| " + touch, "&& " + touch, "> " + canary,
		"'", `"`, `\`, "*", "~", "$HOME", "a b", "line\nbreak", "--settings=$(" + touch + ")", "%PATH%", "!!", "ünï ✓", "-"}
	env := map[string]any{
		"DUMP_TO": dump,
		"EVIL_1":  "$(" + touch + ")", "EVIL_2": "`" + touch + "`", "EVIL_3": "; " + touch, "EVIL_4": "x\ny",
		"EVIL_5": `'"\`, "EVIL_6": "*", "EVIL_7": "$HOME", "EVIL_8": "a b && " + touch,
	}
	writeFile(t, filepath.Join(dir, ".env"), strings.Join([]string{
		"EVIL_FILE_1='$(" + touch + ")'",
		`EVIL_FILE_2="` + "`" + touch + "`" + ` ; rm -rf /nonexistent"`,
		"EVIL_FILE_3=$(" + touch + ")",
		"export EVIL_FILE_4=|" + touch,
	}, "\n")+"\n")
	port := testenv.FreePort(t)
	ed := newEditor(t)
	ed.Initialize(settings(t, port, "args", args, "env", env, "envFile", ".env"), dir)
	from := ed.Mark()
	ed.Start(dir)
	ed.AwaitState(from, dir, protocol.StateFailed) // the fake manage.py exits at once
	var got struct {
		Argv []string          `json:"argv"`
		Env  map[string]string `json:"env"`
	}
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatalf("manage.py did not run: %v", err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	wantArgv := append([]string{"runserver", fmt.Sprintf("127.0.0.1:%d", port)}, args...)
	if !slices.Equal(got.Argv, wantArgv) {
		t.Errorf("argv = %q\nwant   %q", got.Argv, wantArgv)
	}
	wantEnv := map[string]string{
		"EVIL_FILE_1": "$(" + touch + ")",
		"EVIL_FILE_2": "`" + touch + "` ; rm -rf /nonexistent",
		"EVIL_FILE_3": "$(" + touch + ")",
		"EVIL_FILE_4": "|" + touch,
	}
	for k, v := range env {
		if strings.HasPrefix(k, "EVIL_") {
			wantEnv[k] = v.(string)
		}
	}
	for k, v := range wantEnv {
		if got.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, got.Env[k], v)
		}
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("a shell ran one of the settings: the canary file exists")
	}
	t.Logf("%d args and %d env values with shell metacharacters arrived verbatim; no shell ran", len(args), len(wantEnv))
}

// TestSecretsNeverLogged: values from env and envFile never appear in our
// logs (stderr, window/logMessage) or messages (statuses, showMessage),
// whatever happens: a normal run, a reload, a crash, malformed envFiles and
// settings of the wrong type next to them.
func TestSecretsNeverLogged(t *testing.T) {
	secrets := []string{"s3cr3t-env-7f3a9", "s3cr3t-file-b41c", "s3cr3t-badline-0d2e", "s3cr3t-unterminated-91aa", "s3cr3t-badkey-5c5c", "s3cr3t-typed-e0e0"}
	dir := tinyProject(t, t.TempDir(), "ws", "v1")
	writeFile(t, filepath.Join(dir, "good.env"), "DB_PASSWORD=\""+secrets[1]+"\"\n")
	writeFile(t, filepath.Join(dir, "bad1.env"), "OK=1\nAPI_KEY "+secrets[2]+"\n")
	writeFile(t, filepath.Join(dir, "bad2.env"), "TOKEN=\""+secrets[3]+"\n")
	writeFile(t, filepath.Join(dir, "bad3.env"), "my-key="+secrets[4]+"\n")
	port := testenv.FreePort(t)
	env := map[string]any{"SECRET_TOKEN": secrets[0]}
	ed := newEditor(t)
	ed.Initialize(settings(t, port, "env", env, "envFile", "good.env"), dir)

	// A normal run, a reload, a crash and its restart, a stop.
	running := ed.StartRunning(dir)
	from := ed.Mark()
	ed.Save(setVersion(t, dir, "v2"))
	running = ed.AwaitStatusWithin(30*time.Second, from, dir, "reloaded", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID != running.PID
	})
	from = ed.Mark()
	killPID(t, running.PID)
	ed.AwaitStatusWithin(30*time.Second, from, dir, "restarted after the crash", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.PID != running.PID
	})
	ed.Stop(dir)

	// Malformed envFiles, and settings of the wrong type beside secrets.
	for _, s := range []map[string]any{
		settings(t, port, "env", env, "envFile", "bad1.env"),
		settings(t, port, "env", env, "envFile", "bad2.env"),
		settings(t, port, "env", env, "envFile", "bad3.env"),
		settings(t, port, "env", map[string]any{"SECRET_TOKEN": secrets[0], "N": 5}),
		settings(t, port, "env", map[string]any{"SECRET_TOKEN": []any{secrets[5]}}),
		settings(t, port, "env", env, "envFile", "good.env", "python", "/nonexistent/python"),
		settings(t, port, "env", env, "envFile", "good.env", "address", "not an address"),
	} {
		ed.Configure(s)
		st := ed.Start(dir)
		if st.State != protocol.StateFailed {
			t.Errorf("start with %v: %s, want failed", s, st.State)
		}
	}
	ed.Close()

	var ours []string
	for _, n := range ed.Since(0) {
		ours = append(ours, n.Method+" "+string(n.Params))
	}
	ours = append(ours, ed.Stderr())
	all := strings.Join(ours, "\n")
	for _, s := range secrets {
		if i := strings.Index(all, s); i >= 0 {
			t.Errorf("secret %q leaked: …%s…", s, all[max(0, i-200):min(len(all), i+50)])
		}
	}
	t.Logf("%d messages and %d bytes of backend log checked for %d secrets", len(ours)-1, len(ed.Stderr()), len(secrets))
}

// TestRefusesFoldersOutsideTheWorkspace: a folder removed from the
// workspace, per-folder settings for a folder that is not in it, and every
// request naming such a folder are refused; nothing runs there.
func TestRefusesFoldersOutsideTheWorkspace(t *testing.T) {
	a := tinyProject(t, t.TempDir(), "a", "v1")
	b := tinyProject(t, t.TempDir(), "b", "v1")
	stranger := tinyProject(t, t.TempDir(), "stranger", "v1")
	ed := newEditor(t)
	ed.InitializeSections(map[string]any{
		protocol.SettingsSection:       settings(t, testenv.FreePort(t)),
		protocol.FolderSettingsSection: map[string]any{fileuri.FromPath(stranger): map[string]any{"address": "127.0.0.1:1"}},
	}, a, b)
	refused := func(folder string) {
		t.Helper()
		for _, m := range []string{protocol.MethodStart, protocol.MethodRestart, protocol.MethodStatus, protocol.MethodStop} {
			err := ed.Editor.Call(m, protocol.StartParams{Folder: fileuri.FromPath(folder)}, nil)
			if fakeeditor.ErrorCode(err) != int64(jsonrpc2.InvalidParams) || !strings.Contains(err.Error(), "not a workspace folder") {
				t.Errorf("%s of %s: %v, want InvalidParams: not a workspace folder", m, filepath.Base(folder), err)
			}
		}
	}
	refused(stranger)
	// Two folders with a manage.py: a request must name one.
	if err := ed.Editor.Call(protocol.MethodStart, protocol.StartParams{}, nil); fakeeditor.ErrorCode(err) != int64(jsonrpc2.InvalidParams) {
		t.Errorf("start without a folder among two: %v, want InvalidParams", err)
	}
	ed.Notify(protocol.MethodDidChangeWorkspaceFolders, protocol.DidChangeWorkspaceFoldersParams{Event: protocol.WorkspaceFoldersChangeEvent{
		Removed: []protocol.WorkspaceFolder{{URI: fileuri.FromPath(b)}},
	}})
	if !eventually(5*time.Second, func() bool {
		return fakeeditor.ErrorCode(ed.Editor.Call(protocol.MethodStatus, protocol.FolderParams{Folder: fileuri.FromPath(b)}, nil)) == int64(jsonrpc2.InvalidParams)
	}) {
		t.Fatal("a removed folder is still served")
	}
	refused(b)
	for _, f := range []string{b, stranger} {
		if p := pids(f, 0); len(p) > 0 {
			t.Errorf("processes run for %s: %v", f, p)
		}
	}
	if st := ed.Status(a); st.State != protocol.StateStopped {
		t.Errorf("the workspace folder is %s", st.State)
	}
}
