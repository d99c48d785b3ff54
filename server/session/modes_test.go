package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// Under Django's own reloader the process stays; the status follows its
// output through a reload and a broken file.
func TestDjangoReloadMode(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, testenv.FreePort(t), "reload", "django", "env", hideWatchman(t)), dir)
	running := c.StartRunning("")
	if running.Mode != protocol.ReloadDjango {
		t.Errorf("mode = %q", running.Mode)
	}
	testenv.WaitBody(t, running.URL+"hello/", "hello from the view")

	views := filepath.Join(dir, "polls", "views.py")
	from := c.Mark()
	testenv.Rewrite(t, views, "hello from the view", "hello from the django reloader")
	reloading := saveUntil(c, from, views, protocol.StateReloading)
	if reloading.Trigger == nil || reloading.Trigger.Path != views {
		t.Errorf("trigger = %+v, want %s", reloading.Trigger, views)
	}
	again := c.AwaitState(from, "", protocol.StateRunning)
	testenv.WaitBody(t, running.URL+"hello/", "hello from the django reloader")
	if again.Reloads != 1 || again.PID != running.PID {
		t.Errorf("after a reload: reloads %d pid %d, want 1 and the same parent %d", again.Reloads, again.PID, running.PID)
	}

	from = c.Mark()
	testenv.Rewrite(t, views, "def hello(request):", "def hello(request:")
	failed := saveUntil(c, from, views, protocol.StateFailed)
	if failed.Error == nil || failed.Error.Code != protocol.CodeStartupFailed || failed.Error.File != views {
		t.Fatalf("error = %+v, want startup-failed in views.py", failed.Error)
	}
	from = c.Mark()
	testenv.Rewrite(t, views, "def hello(request:", "def hello(request):")
	saveUntil(c, from, views, protocol.StateRunning)
	c.AwaitDiagnostics(fileuri.FromPath(views), "cleared", func(d []protocol.Diagnostic) bool { return len(d) == 0 })
}

// saveUntil waits for a status in state, saving path again each second, as
// a user would. Django's StatReloader compares each file with its own first
// look at it, taken a moment after the server starts serving: a save made
// before that look goes unseen until the next one.
func saveUntil(c *fakeeditor.Env, from int, path string, state protocol.State) protocol.Status {
	c.T.Helper()
	var got protocol.Status
	deadline := time.Now().Add(fakeeditor.AwaitTimeout)
	for c.Editor.Await(time.Second, from, fakeeditor.State("", state, &got)) != nil {
		if time.Now().After(deadline) {
			c.AwaitState(from, "", state) // fails, with what came instead
		}
		now := time.Now()
		os.Chtimes(path, now, now)
	}
	return got
}

// With reload off, changes wait for a restart.
func TestReloadOffWaitsForRestart(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings(t, testenv.FreePort(t), "reload", "off"), dir)
	running := c.StartRunning("")
	views := filepath.Join(dir, "polls", "views.py")
	testenv.Rewrite(t, views, "hello from the view", "hello after restart")
	c.Notify(protocol.MethodDidSave, protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileuri.FromPath(views)}})
	var st protocol.Status
	c.Call(protocol.MethodStatus, nil, &st) // didSave was handled before this reply
	body, _ := testenv.Get(running.URL + "hello/")
	if st.PID != running.PID || !strings.Contains(body, "hello from the view") {
		t.Errorf("with reload off a save changed the server: pid %d→%d, body %q", running.PID, st.PID, body)
	}
	from := c.Mark()
	var restarted protocol.Status
	c.Call(protocol.MethodRestart, nil, &restarted)
	if restarted.State != protocol.StateReloading || restarted.Trigger == nil || restarted.Trigger.Kind != protocol.TriggerCommand {
		t.Errorf("restart replied %s %+v", restarted.State, restarted.Trigger)
	}
	again := c.AwaitState(from, "", protocol.StateRunning)
	testenv.WaitBody(t, running.URL+"hello/", "hello after restart")
	if again.PID == running.PID {
		t.Error("restart kept the process")
	}
}
