//go:build unix

package session

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// A click on a frame of Django's technical 500 page opens the file at its
// line in the editor (window/showDocument), on each supported Django; every
// request that is not the page's own, or that names a file outside the
// workspace, gets 403 and opens nothing.
func TestClickOnAFrameOpensItInTheEditor(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		dir := testenv.Project(t, "mysite")
		views := filepath.Join(dir, "polls", "views.py")
		testenv.Rewrite(t, views, "return HttpResponse('hello from the view')", "raise ValueError('broken view')")
		c := fakeeditor.New(t, Serve)
		c.Initialize(onDjango(d, testenv.FreePort(t)), dir)
		running := c.StartRunning("")
		base := strings.TrimSuffix(running.URL, "/")

		page := testenv.GetPage(t, running.URL+"hello/", http.StatusInternalServerError)
		token := testenv.PageToken(page)
		if token == "" {
			t.Fatalf("Django's technical 500 page has no script tag with a token:\n%s", page)
		}
		if strings.Contains(page, fmt.Sprintf("data-page=%q", token)) {
			t.Errorf("the open token is the page id, which every stream URL shows")
		}
		if missing := testenv.PageToken(testenv.GetPage(t, running.URL+"nowhere/", http.StatusNotFound)); missing != token {
			t.Errorf("Django's technical 404 page's token is %q, want the process's %q", missing, token)
		}
		file, line, ok := testenv.PageFrame(page, filepath.Join("polls", "views.py"))
		if !ok {
			t.Fatalf("the page shows no frame of polls/views.py as the script finds frames:\n%s", page)
		}
		if want := testenv.LineOf(t, views, "raise ValueError"); line != want {
			t.Errorf("the page's frame is at line %d, want %d", line, want)
		}

		from := c.Mark()
		for _, a := range testenv.RefusedOpens(t, base, token, dir, views) {
			if code, body := a.Send(t, base); code != http.StatusForbidden {
				t.Errorf("%s: %d %s, want 403", a.Name, code, body)
			}
		}
		good := testenv.OpenAttempt{Name: "the page's click", Method: http.MethodPost, Origin: base, Token: token, File: file, Line: line}
		if code, body := good.Send(t, base); code != http.StatusOK || !strings.Contains(body, `"opened":true`) {
			t.Fatalf("the page's click: %d %s, want 200 opened", code, body)
		}
		c.Await(from, fakeeditor.Count(protocol.MethodShowDocument, 1))
		shown := showDocuments(t, c, from)
		if len(shown) != 1 {
			t.Fatalf("window/showDocument sent %d times, want once, for the good request alone: %+v", len(shown), shown)
		}
		p := shown[0]
		if p.URI != fileuri.FromPath(views) || !p.TakeFocus || p.Selection == nil || p.Selection.Start.Line != line-1 {
			t.Errorf("window/showDocument %+v, want %s focused at line %d (zero-based %d)", p, fileuri.FromPath(views), line, line-1)
		}
		for _, l := range c.LogLines(from) {
			if strings.Contains(l.Text, "django-runserver: open") {
				t.Errorf("the open request reached the log: %q", l.Text)
			}
		}
	})
}

// showDocuments are the window/showDocument requests sent since from.
func showDocuments(t *testing.T, c *fakeeditor.Env, from int) []protocol.ShowDocumentParams {
	t.Helper()
	var out []protocol.ShowDocumentParams
	for _, m := range c.Since(from) {
		if m.Method != protocol.MethodShowDocument {
			continue
		}
		var p protocol.ShowDocumentParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
