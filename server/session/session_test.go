package session

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

func settings(t *testing.T, port int, extra ...any) map[string]any {
	s := map[string]any{
		"python":  testenv.Python(t),
		"address": fmt.Sprintf("127.0.0.1:%d", port),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	return s
}

// onDjango is settings for a server on the Django release d.
func onDjango(d testenv.Django, port int) map[string]any {
	env := map[string]any{}
	for k, v := range d.Env {
		env[k] = v
	}
	return map[string]any{"python": d.Python, "address": fmt.Sprintf("127.0.0.1:%d", port), "env": env}
}

func TestInitializeAdvertisesSaves(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.New(t, Serve)
	from := c.Mark()
	res := c.Initialize(settings(t, testenv.FreePort(t)), dir)
	sync := res.Capabilities.TextDocumentSync
	if sync.OpenClose || sync.Change != 0 || sync.Save == nil || sync.Save.IncludeText {
		t.Errorf("textDocumentSync = %+v, want {openClose:false change:0 save:{includeText:false}}", sync)
	}
	st := c.AwaitState(from, "", protocol.StateStopped)
	if st.Folder != fileuri.FromPath(dir) || st.Address == "" || st.Mode != protocol.ReloadFast {
		t.Errorf("announced status = %+v", st)
	}
}

// The core flow, on each supported Django release.
func TestStartEditReloadStop(t *testing.T) {
	testenv.RunDjangos(t, startEditReloadStop)
}

func startEditReloadStop(t *testing.T, django testenv.Django) {
	dir := testenv.Project(t, "mysite")
	port := testenv.FreePort(t)
	c := fakeeditor.New(t, Serve)
	c.Initialize(onDjango(django, port), dir)

	// Start: starting, then running, and HTTP 200 from the status URL.
	from := c.Mark()
	var st protocol.Status
	c.Call(protocol.MethodStart, protocol.StartParams{}, &st)
	if st.State != protocol.StateStarting {
		t.Fatalf("start replied %s, want starting", st.State)
	}
	running := c.AwaitState(from, "", protocol.StateRunning)
	if got := c.States(from, ""); !startsWith(got, protocol.StateStarting, protocol.StateRunning) {
		t.Errorf("states = %v, want starting then running", got)
	}
	want := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if running.URL != want || running.PID == 0 {
		t.Fatalf("running status = %+v, want url %s and a pid", running, want)
	}
	testenv.WaitBody(t, running.URL, "Django Runserver sample")
	testenv.WaitBody(t, running.URL+"hello/", "hello from the view")
	servedBy(t, c, django)

	// A Python edit with didSave: reloading, running, new content, new pid.
	views := filepath.Join(dir, "polls", "views.py")
	from = c.Mark()
	testenv.Rewrite(t, views, "hello from the view", "hello after save")
	c.Notify(protocol.MethodDidSave, protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileuri.FromPath(views)}})
	reloading := c.AwaitState(from, "", protocol.StateReloading)
	if reloading.Trigger == nil || reloading.Trigger.Kind != protocol.TriggerSave || reloading.Trigger.Path != views {
		t.Errorf("reloading trigger = %+v, want save of %s", reloading.Trigger, views)
	}
	reloaded := c.AwaitState(from, "", protocol.StateRunning)
	testenv.WaitBody(t, running.URL+"hello/", "hello after save")
	if reloaded.PID == running.PID || reloaded.PID == 0 {
		t.Errorf("pid after reload = %d, was %d: want a new process", reloaded.PID, running.PID)
	}
	if reloaded.LastReloadMs == nil || *reloaded.LastReloadMs <= 0 || reloaded.Reloads != 1 {
		t.Errorf("after a reload: lastReloadMs=%v reloads=%d, want a time and 1", reloaded.LastReloadMs, reloaded.Reloads)
	}
	if !testenv.ProcessGone(running.PID) {
		t.Errorf("the old process %d is still alive after the reload", running.PID)
	}

	// The same with no didSave: the watcher alone.
	from = c.Mark()
	testenv.Rewrite(t, views, "hello after save", "hello from the watcher")
	watched := c.AwaitState(from, "", protocol.StateReloading)
	if watched.Trigger == nil || watched.Trigger.Kind != protocol.TriggerWatch {
		t.Errorf("watcher reload trigger = %+v, want watch", watched.Trigger)
	}
	again := c.AwaitState(from, "", protocol.StateRunning)
	testenv.WaitBody(t, running.URL+"hello/", "hello from the watcher")
	if again.PID == reloaded.PID {
		t.Errorf("the watcher's reload kept pid %d", again.PID)
	}

	// A template edit is served by the same process. From Django 4.1 on,
	// debug caches templates too: the edit shows because the shim hands it
	// to Django's own template_changed receiver, which empties the cache.
	if cached, want := cachesTemplates(t, django, dir), django.AtLeast(4, 1); cached != want {
		t.Errorf("Django %s caches templates in debug: %v, want %v", django.Version, cached, want)
	}
	from = c.Mark()
	template := filepath.Join(dir, "polls", "templates", "polls", "index.html")
	testenv.Rewrite(t, template, "<h1>{{ title }}</h1>", "<h1>{{ title }} (edited)</h1>")
	c.Notify(protocol.MethodDidSave, protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileuri.FromPath(template)}})
	testenv.WaitBody(t, running.URL, "Django Runserver sample (edited)")
	var now protocol.Status
	c.Call(protocol.MethodStatus, protocol.FolderParams{}, &now)
	if now.PID != again.PID || now.State != protocol.StateRunning {
		t.Errorf("after a template edit: %s pid %d, want running pid %d", now.State, now.PID, again.PID)
	}
	if got := c.States(from, ""); len(got) != 0 {
		t.Errorf("a template edit changed state: %v", got)
	}

	// Stop: stopped, port free, no process left.
	var stopped protocol.Status
	c.Call(protocol.MethodStop, protocol.FolderParams{Folder: fileuri.FromPath(dir)}, &stopped)
	if stopped.State != protocol.StateStopped || stopped.PID != 0 {
		t.Errorf("stop replied %+v, want stopped with no pid", stopped)
	}
	if !testenv.PortFree(port) {
		t.Errorf("port %d is still taken after stop", port)
	}
	if !testenv.ProcessGone(again.PID) {
		t.Errorf("process %d is alive after stop", again.PID)
	}
	// Stop again is fine.
	c.Call(protocol.MethodStop, protocol.FolderParams{}, &stopped)
	if stopped.State != protocol.StateStopped {
		t.Errorf("second stop replied %s", stopped.State)
	}
}

func TestBrokenFileFailsThenRecovers(t *testing.T) {
	testenv.RunDjangos(t, brokenFileFailsThenRecovers)
}

func brokenFileFailsThenRecovers(t *testing.T, django testenv.Django) {
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.New(t, Serve)
	c.Initialize(onDjango(django, testenv.FreePort(t)), dir)
	running := c.StartRunning("")

	views := filepath.Join(dir, "polls", "views.py")
	from := c.Mark()
	testenv.Rewrite(t, views, "def hello(request):", "def hello(request:")
	failed := c.AwaitState(from, "", protocol.StateFailed)
	if failed.Error == nil || failed.Error.Code != protocol.CodeStartupFailed {
		t.Fatalf("failed with %+v, want startup-failed", failed.Error)
	}
	if failed.Error.File != views || failed.Error.Line != 9 || failed.Error.Exception != "SyntaxError" {
		t.Errorf("error location = %s:%d %s, want %s:9 SyntaxError", failed.Error.File, failed.Error.Line, failed.Error.Exception, views)
	}
	uri := fileuri.FromPath(views)
	diags := c.AwaitDiagnostics(uri, "a SyntaxError", func(d []protocol.Diagnostic) bool { return len(d) == 1 })
	if d := diags[0]; d.Range.Start.Line != 8 || d.Severity != protocol.SeverityError || d.Source != "runserver" || !strings.Contains(d.Message, "SyntaxError") {
		t.Errorf("diagnostic = %+v, want an Error on line 8 (0-based) from runserver", d)
	}

	// Fixing it retries by itself: running again, diagnostic cleared.
	from = c.Mark()
	testenv.Rewrite(t, views, "def hello(request:", "def hello(request):")
	c.AwaitState(from, "", protocol.StateRunning)
	c.AwaitDiagnostics(uri, "cleared", func(d []protocol.Diagnostic) bool { return len(d) == 0 })
	testenv.WaitBody(t, running.URL+"hello/", "hello from the view")
}

func TestImportErrorPointsAtTheImport(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	views := filepath.Join(dir, "polls", "views.py")
	testenv.Rewrite(t, views, "from django.http import HttpResponse", "from django.http import HttpResponse\nimport no_such_module")
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, testenv.FreePort(t)), dir)
	from := c.Mark()
	c.Call(protocol.MethodStart, nil, nil)
	failed := c.AwaitState(from, "", protocol.StateFailed)
	if e := failed.Error; e == nil || e.Code != protocol.CodeStartupFailed || e.File != views || e.Line != 2 || e.Exception != "ModuleNotFoundError" {
		t.Fatalf("error = %+v, want startup-failed ModuleNotFoundError at %s:2", e, views)
	}
}

func TestNothingToRun(t *testing.T) {
	python := testenv.Python(t)
	noDjango := filepath.Join(t.TempDir(), "python-without-django")
	// -S skips site-packages, where Django lives: a real Python without Django.
	if err := os.WriteFile(noDjango, []byte("#!/bin/sh\nexec "+python+" -S \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A python that is missing or is not one: the reliability suite's
	// TestNotAPython.
	for _, tc := range []struct {
		name   string
		python string
		empty  bool
		code   protocol.ErrorCode
		hint   string
	}{
		{"no django", noDjango, false, protocol.CodeDjangoNotFound, "pip install django"},
		{"no manage.py", python, true, protocol.CodeManagePyNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tc.empty {
				dir = testenv.Project(t, "mysite")
			}
			c := fakeeditor.New(t, Serve)
			c.Initialize(map[string]any{"python": tc.python, "address": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}, dir)
			var st protocol.Status
			c.Call(protocol.MethodStart, nil, &st)
			if st.State != protocol.StateFailed || st.Error == nil || st.Error.Code != tc.code {
				t.Fatalf("start = %s %+v, want failed %s", st.State, st.Error, tc.code)
			}
			if !strings.Contains(st.Error.Message, tc.hint) {
				t.Errorf("message %q does not tell the user %q", st.Error.Message, tc.hint)
			}
			if tc.code == protocol.CodeManagePyNotFound && !fakeeditor.NamesSetting(st.Error, "managePy") {
				t.Errorf("failed with %+v, which does not name the managePy setting", st.Error)
			}
		})
	}
}

func TestLifecycleAndBadInput(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.New(t, Serve)

	// Before initialize: -32002.
	err := c.Editor.Call(protocol.MethodStatus, nil, nil)
	if code := fakeeditor.ErrorCode(err); code != protocol.ErrServerNotInitialized {
		t.Errorf("status before initialize: %v (code %d), want -32002", err, code)
	}
	c.Initialize(settings(t, testenv.FreePort(t)), dir)

	// A second initialize is refused.
	if code := fakeeditor.ErrorCode(c.Editor.Call(protocol.MethodInitialize, protocol.InitializeParams{}, nil)); code != int64(jsonrpc2.InvalidRequest) {
		t.Errorf("second initialize: code %d, want InvalidRequest", code)
	}
	// Unknown method.
	if code := fakeeditor.ErrorCode(c.Editor.Call("runserver/fly", nil, nil)); code != int64(jsonrpc2.MethodNotFound) {
		t.Errorf("unknown method: code %d, want MethodNotFound", code)
	}
	// Wrong param types and folders outside the workspace: see the
	// reliability suite's TestBadParams and TestBadFolderURIs.
	// Malformed frames get an error response, and the session keeps serving.
	defer func(old int) { maxFrame = old }(maxFrame)
	maxFrame = 1024
	for _, frame := range []string{
		"Content-Length: 9\r\n\r\n{\"broken\"",
		"Content-Length: 2\r\n\r\n[]",
		"Content-Length: 13\r\n\r\n{\"jsonrpc\":1}",
		"Content-Type: text/plain\r\n\r\n",
		"Content-Length: 2000\r\n\r\n" + strings.Repeat("x", 2000),
		"Content-Length: nine\r\n\r\n",
		frame(`{"jsonrpc":"2.0","id":7,"method":"runserver/status","params":{"folder":"\xff"}}`),
		frame(`{"jsonrpc":"2.0","id":8,"method":"runserver/status","params":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`),
		frame(`{"jsonrpc":"2.0","id":9,"method":"runserver/start","params":"8000"}`),
	} {
		if err := c.Raw([]byte(frame)); err != nil {
			t.Fatal(err)
		}
		var st protocol.Status
		if err := c.Editor.Call(protocol.MethodStatus, nil, &st); err != nil || st.State != protocol.StateStopped {
			t.Fatalf("after the frame %q, status: %v %+v", frame, err, st)
		}
	}

	// After shutdown only exit is accepted, and exit then ends with 0.
	c.Call(protocol.MethodShutdown, nil, nil)
	if code := fakeeditor.ErrorCode(c.Editor.Call(protocol.MethodStatus, nil, nil)); code != int64(jsonrpc2.InvalidRequest) {
		t.Errorf("status after shutdown: code %d, want InvalidRequest", code)
	}
	c.Notify(protocol.MethodExit, nil)
	if code := c.Exit(); code != 0 {
		t.Errorf("exit after shutdown = %d, want 0", code)
	}
}

func TestExitWithoutShutdownIsOne(t *testing.T) {
	c := fakeeditor.New(t, Serve)
	c.Initialize(nil, t.TempDir())
	c.Notify(protocol.MethodExit, nil)
	if code := c.Exit(); code != 1 {
		t.Errorf("exit without shutdown = %d, want 1", code)
	}
}

// servedBy checks that the server runs the Django release d, by the
// version in Django's own banner, and logs it.
func servedBy(t *testing.T, c *fakeeditor.Env, d testenv.Django) {
	t.Helper()
	banner := "Django version " + d.Version + "."
	c.Await(0, fakeeditor.LogContains(banner))
	for _, l := range c.LogLines(0) {
		if _, after, ok := strings.Cut(l.Text, banner); ok {
			version, _, _ := strings.Cut(after, ",")
			t.Logf("served by Django %s%s (%s)", d.Version+".", version, d.Python)
			return
		}
	}
}

// cachesTemplates reports whether the project's template engine, under
// Django d, loads through the cached loader.
func cachesTemplates(t *testing.T, d testenv.Django, dir string) bool {
	t.Helper()
	cmd := exec.Command(d.Python, "-c", "import django; django.setup(); from django.template import engines; "+
		"print(type(engines['django'].engine.template_loaders[0]).__module__)")
	cmd.Dir, cmd.Env = dir, append(d.Environ(), "DJANGO_SETTINGS_MODULE=mysite.settings")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("listing the template loaders: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out)) == "django.template.loaders.cached"
}

func frame(body string) string {
	return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
}

// startsWith reports whether the moves in got, leaving out stopped and the
// statuses that only add to the state before (a starting process that says
// which runserver it runs), begin with want.
func startsWith(got []protocol.State, want ...protocol.State) bool {
	var seen []protocol.State
	for _, s := range got {
		if s != protocol.StateStopped && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
	}
	if len(seen) < len(want) {
		return false
	}
	for i := range want {
		if seen[i] != want[i] {
			return false
		}
	}
	return true
}
