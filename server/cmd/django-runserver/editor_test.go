//go:build unix

package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// run -editor: a click on a frame of Django's debug page runs the editor
// command, as argv, with the frame's file and line; the page's other
// requests run nothing.
func TestTerminalEditorOpensTheClickedFrame(t *testing.T) {
	bin := t.TempDir()
	recorder := filepath.Join(bin, "my editor")
	record := recorder + ".argv"
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$0.argv\"\n"
	if err := os.WriteFile(recorder, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, port, cmd, out := startTerminal(t, "-editor", fmt.Sprintf("'%s' --goto {file}:{line}", recorder))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitBody(t, base+"/hello/", "hello from the view")
	views := filepath.Join(dir, "polls", "views.py")
	testenv.Rewrite(t, views, "return HttpResponse('hello from the view')", "raise ValueError('broken view')")
	var page string
	testenv.Eventually(t, 30*time.Second, "Django's debug page for the broken view", func() bool {
		code, body, err := testenv.GetStatus(base + "/hello/")
		page = body
		return err == nil && code == http.StatusInternalServerError
	})
	token := testenv.PageToken(page)
	file, line, ok := testenv.PageFrame(page, filepath.Join("polls", "views.py"))
	if token == "" || !ok {
		t.Fatalf("the debug page has no token (%q) or no frame of views.py:\n%s", token, page)
	}
	for _, a := range testenv.RefusedOpens(t, base, token, dir, views) {
		if code, body := a.Send(t, base); code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", a.Name, code, body)
		}
	}
	click := testenv.OpenAttempt{Name: "click", Method: http.MethodPost, Origin: base, Token: token, File: file, Line: line}
	if code, body := click.Send(t, base); code != http.StatusOK || !strings.Contains(body, `"opened":true`) {
		t.Fatalf("the page's click: %d %s, want 200 opened\n%s", code, body, out.String())
	}
	want := fmt.Sprintf("--goto\n%s:%d\n", views, line)
	testenv.Eventually(t, 10*time.Second, "the editor command run with file:line", func() bool {
		b, _ := os.ReadFile(record)
		return string(b) == want
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after Ctrl-C: %v", err)
	}
	if b, _ := os.ReadFile(record); string(b) != want {
		t.Errorf("the editor command ran with %q, want %q alone: a refused request ran it", b, want)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("opening %s:%d in the editor (-editor)", views, line)) {
		t.Errorf("the terminal does not say it opened the file:\n%s", out.String())
	}
}

// Without -editor the click is answered with what the page copies.
func TestTerminalWithoutEditorClickCopies(t *testing.T) {
	dir, port, _, _ := startTerminal(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitBody(t, base+"/hello/", "hello from the view")
	token := testenv.PageToken(testenv.GetPage(t, base+"/", http.StatusOK))
	views := filepath.Join(dir, "polls", "views.py")
	click := testenv.OpenAttempt{Method: http.MethodPost, Origin: base, Token: token, File: "polls/views.py", Line: 4}
	if code, body := click.Send(t, base); code != http.StatusOK || !strings.Contains(body, `"copy":"`+views+`:4"`) {
		t.Fatalf("click: %d %s, want 200 with copy %s:4", code, body, views)
	}
}

// A bad -editor is refused before anything runs, named by its flag.
func TestTerminalRefusesABadEditor(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	for _, c := range []struct{ value, why string }{
		{"code -g", "put {file}"},
		{"'code -g {file}", "quote is not closed"},
		{"no-such-editor-here {file}:{line}", "there is no program no-such-editor-here"},
		{"  ", "it is empty"},
	} {
		code, out := runTerminalCommand(t, "-python", testenv.Python(t), "-editor", c.value, dir)
		if code != 2 {
			t.Errorf("-editor %q: exit code %d, want 2", c.value, code)
		}
		if !strings.Contains(out, fmt.Sprintf("invalid -editor %q", c.value)) || !strings.Contains(out, c.why) || !strings.Contains(out, "{file}:{line}") {
			t.Errorf("-editor %q: the output does not name the flag, say %q and give an example:\n%s", c.value, c.why, out)
		}
	}
}
