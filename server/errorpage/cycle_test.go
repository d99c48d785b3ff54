//go:build unix

package errorpage_test

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/errorpage"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/listener"
	"github.com/django-runserver/django-runserver/server/reloader"
)

var pageID = regexp.MustCompile(`data-page="([^"]+)"`)

// spawn starts a fast-mode Django on ln and returns it with its ready pipe.
func spawn(t *testing.T, dir string, ln *listener.Listener) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	shim, err := reloader.WriteShim()
	if err != nil {
		t.Fatal(err)
	}
	r, w, _ := os.Pipe()
	cmd := exec.Command(testenv.Python(t), reloader.Args(shim, protocol.ReloadFast, "manage.py", ln.Address().String(), nil)...)
	cmd.Dir = dir
	files, env := ln.Inherit(nil)
	cmd.ExtraFiles = append(files, w)
	cmd.Env = append(os.Environ(), "RUN_MAIN=true", env, "DJANGO_RUNSERVER_READY_FD=4", "DJANGO_RUNSERVER_BROWSER_RELOAD=1", "PYTHONDONTWRITEBYTECODE=1")
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return cmd, stdin, bufio.NewReader(r)
}

func firstEvent(t *testing.T, url string) string {
	t.Helper()
	return nextEvent(openStream(t, url))
}

// openStream opens an event stream: the server has answered it.
func openStream(t *testing.T, url string) *http.Response {
	t.Helper()
	c := http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// nextEvent reads a stream up to its first event, and closes it.
func nextEvent(resp *http.Response) string {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "event: ") {
			return sc.Text()
		}
	}
	return "(stream ended)"
}

// A page open across a failed reload reloads once to show the error page,
// and once more when the fix serves: never in a loop.
func TestFailedReloadCycle(t *testing.T) {
	dir := testenv.Project(t, "livesite")
	a := testenv.FreeAddress(t)
	ln, err := listener.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	base := "http://" + a.Dial()

	cmd, stdin, ready := spawn(t, dir, ln)
	if line, _ := ready.ReadString('\n'); line != "ready\n" {
		t.Fatal("the first process never served")
	}
	page, _ := testenv.Get(base + "/")
	first := pageID.FindStringSubmatch(page)[1]

	// Save a SyntaxError: the process reloads, the next one fails.
	views := filepath.Join(dir, "livesite", "views.py")
	testenv.Rewrite(t, views, `VERSION = "v1"`, `VERSION = "v1`)
	io.WriteString(stdin, views+"\n")
	cmd.Wait()
	cmd, _, ready = spawn(t, dir, ln)
	if line, _ := ready.ReadString('\n'); line == "ready\n" {
		t.Fatal("a broken process served")
	}
	cmd.Wait()
	failed, err := errorpage.New(errorpage.Failure{Error: protocol.Error{Code: protocol.CodeStartupFailed, Exception: "SyntaxError", Message: "EOL while scanning string literal", File: views, Line: 9}, Workspace: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Serve(failed); err != nil {
		t.Fatal(err)
	}
	// The open page reconnects: it reloads, to the error page.
	if ev := firstEvent(t, base+"/__django_runserver__/events?page="+first); ev != "event: reload" {
		t.Fatalf("the open page got %q", ev)
	}
	body, err := testenv.Get(base + "/")
	if err == nil || !strings.Contains(body, "SyntaxError") {
		t.Fatalf("the error page: %v %.200s", err, body)
	}
	errID := pageID.FindStringSubmatch(body)[1]

	// The error page's own stream is held until the fix is spawned.
	held := make(chan string, 1)
	stream := openStream(t, base+"/__django_runserver__/events?page="+errID)
	go func() { held <- nextEvent(stream) }()
	testenv.Rewrite(t, views, `VERSION = "v1`, `VERSION = "v2"`)
	ln.Pause()
	if ev := <-held; ev != "(stream ended)" {
		t.Fatalf("the error page's stream said %q before the fix served", ev)
	}
	_, _, ready = spawn(t, dir, ln)
	if line, _ := ready.ReadString('\n'); line != "ready\n" {
		t.Fatal("the fixed process never served")
	}
	// It reconnects to the new process and reloads once; the new page waits.
	if ev := firstEvent(t, base+"/__django_runserver__/events?page="+errID); ev != "event: reload" {
		t.Fatalf("the error page got %q from the fixed server", ev)
	}
	page, _ = testenv.Get(base + "/")
	if !strings.Contains(page, "v2") {
		t.Fatalf("the fixed page: %.200s", page)
	}
	now := pageID.FindStringSubmatch(page)[1]
	stream, err = http.Get(base + "/__django_runserver__/events?page=" + now)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	sc := bufio.NewScanner(stream.Body)
	for sc.Scan() && sc.Text() != contract.StreamOpen {
	}
	// One blank line ends it; no event follows for this page.
	events := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				events <- sc.Text()
				return
			}
		}
	}()
	select {
	case ev := <-events:
		t.Fatalf("the fixed page got %q: a reload loop", ev)
	case <-time.After(time.Second):
	}
}
