package watch_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/terminal"
)

// TestForcedPollReloadsDjango runs real Django with `-watch poll`: the log
// names the mode, and an edit (no editor, no file events) reloads the
// server, which then serves the new code.
func TestForcedPollReloadsDjango(t *testing.T) {
	py := testenv.Python(t)
	dir := testenv.Project(t, "mysite")
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	out := &testenv.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- terminal.Run(ctx, terminal.Options{Dir: dir, Stdout: out, Stderr: out, Settings: map[string]any{
			"python": py, "address": addr, "onPortConflict": "fail", "watch": "poll", "pollInterval": 0.2,
		}})
	}()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	testenv.WaitBody(t, "http://"+addr+"/hello/", "hello from the view")
	if !strings.Contains(out.String(), "Polling for changes every 200ms, as the watch setting asks.") {
		t.Fatalf("the log does not name the watch mode")
	}
	testenv.Rewrite(t, filepath.Join(dir, "polls", "views.py"), "hello from the view", "hello from a poll")
	testenv.WaitBody(t, "http://"+addr+"/hello/", "hello from a poll")
	if !strings.Contains(out.String(), "views.py changed, reloading.") {
		t.Errorf("Django did not say it reloaded for views.py")
	}
}
