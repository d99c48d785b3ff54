//go:build unix

package errorpage

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/parse"
)

// The error page serves the page's click itself, with the server process's
// checks: the page's own POST, with its token, opens the frame it shows;
// every other request is 403 and opens nothing.
func TestErrorPageOpensOnlyThePagesFrames(t *testing.T) {
	ws := filepath.Join(t.TempDir(), "ws")
	view := filepath.Join(ws, "polls", "views.py")
	os.MkdirAll(filepath.Dir(view), 0o755)
	os.WriteFile(view, []byte("import os\nraise ValueError\n"), 0o644)
	var mu sync.Mutex
	var opened []string
	p, err := New(Failure{
		Error:     protocol.Error{Code: protocol.CodeStartupFailed, Exception: "ValueError", File: view, Line: 2},
		Frames:    []parse.Frame{{File: view, Line: 2, Func: "<module>"}},
		Workspace: ws,
		Open: func(file string, line int) {
			mu.Lock()
			defer mu.Unlock()
			opened = append(opened, file+":"+strconv.Itoa(line))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	page := testenv.GetPage(t, srv.URL+"/", http.StatusServiceUnavailable)
	token := testenv.PageToken(page)
	if token == "" || token == p.id {
		t.Fatalf("the page's token is %q (id %q): want its own", token, p.id)
	}
	file, line, ok := testenv.PageFrame(page, "views.py")
	if !ok || file != "polls/views.py" || line != 2 {
		t.Fatalf("the page shows the frame as %q, line %d (%v), want polls/views.py, line 2:\n%s", file, line, ok, page)
	}

	for _, a := range testenv.RefusedOpens(t, srv.URL, token, ws, view) {
		if code, body := a.Send(t, srv.URL); code != http.StatusForbidden || !strings.Contains(body, "opens nothing") {
			t.Errorf("%s: %d %s, want 403 saying it opens nothing", a.Name, code, body)
		}
	}
	mu.Lock()
	if len(opened) != 0 {
		t.Errorf("refused requests opened %v", opened)
	}
	mu.Unlock()

	click := testenv.OpenAttempt{Name: "click", Method: http.MethodPost, Origin: srv.URL, Token: token, File: file, Line: line}
	if code, body := click.Send(t, srv.URL); code != http.StatusOK || !strings.Contains(body, `"opened":true`) {
		t.Fatalf("the page's click: %d %s, want 200 opened", code, body)
	}
	// Without an Origin, a browser's same-origin mark is enough.
	click.Origin, click.FetchSite = "", "same-origin"
	if code, body := click.Send(t, srv.URL); code != http.StatusOK {
		t.Fatalf("the page's click marked same-origin: %d %s, want 200", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := view + ":2"; len(opened) != 2 || opened[0] != want || opened[1] != want {
		t.Errorf("opened %v, want %s twice", opened, want)
	}
}

// With no editor to open it, the click is answered with what the page
// copies.
func TestErrorPageClickWithoutEditorCopies(t *testing.T) {
	ws := t.TempDir()
	view := filepath.Join(ws, "views.py")
	os.WriteFile(view, []byte("x\n"), 0o644)
	p, err := New(Failure{Error: protocol.Error{Code: protocol.CodeCrashed}, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	click := testenv.OpenAttempt{Method: http.MethodPost, Origin: srv.URL, Token: p.token, File: "views.py", Line: 1}
	if code, body := click.Send(t, srv.URL); code != http.StatusOK || !strings.Contains(body, `"copy":"`+view+`:1"`) {
		t.Fatalf("click: %d %s, want 200 with copy %s:1", code, body, view)
	}
}
