package errorpage

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/parse"
)

const hostile = `<script>alert("x")</script>&'`

func TestPageEscapesEverything(t *testing.T) {
	dir := t.TempDir()
	view := filepath.Join(dir, "app", "views<b>.py")
	os.MkdirAll(filepath.Dir(view), 0o755)
	os.WriteFile(view, []byte("import os\nx = '"+hostile+"'\n"), 0o644)
	p, err := New(Failure{
		Error: protocol.Error{Code: protocol.CodeStartupFailed, Exception: "Syntax<Error>",
			Message: "invalid syntax " + hostile, File: view, Line: 2},
		Frames:    []parse.Frame{{File: view, Line: 2, Func: "<module>"}},
		Workspace: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/polls/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	body := rec.Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<Error>") || strings.Contains(body, "views<b>") {
		t.Fatalf("unescaped text in the page:\n%s", body)
	}
	for _, want := range []string{
		"Syntax&lt;Error&gt;",
		"invalid syntax &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#39;",
		`<span class="fname">app/views&lt;b&gt;.py</span>, line 2`,
		"in &lt;module&gt;",
		"x = &#39;&lt;script&gt;", // the source line, from disk
		`<script src="/__django_runserver__/live.js" data-page="` + p.id + `" data-token="` + p.token + `"></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
}

func TestStream(t *testing.T) {
	p, err := New(Failure{Error: protocol.Error{Code: protocol.CodeCrashed, Message: "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	// A page of another process, or of an earlier failure, reloads.
	resp, err := http.Get(srv.URL + contract.EventsPath + "?page=abc")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), contract.StreamOpen+"\n\nevent: reload\n") {
		t.Fatalf("stream for another page: %q", b)
	}

	// This page's own stream is held until the request ends.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+contract.EventsPath+"?page="+p.id, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	if l := <-lines; l != contract.StreamOpen {
		t.Fatalf("first line %q", l)
	}
	<-lines // the blank line ending it
	select {
	case l, ok := <-lines:
		if ok {
			t.Fatalf("this page's stream said %q", l)
		}
		t.Fatal("this page's stream ended")
	case <-time.After(200 * time.Millisecond): // held, as it should be; no event in this window
	}
	cancel()

	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", contract.ScriptPath, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "EventSource") {
		t.Fatalf("the script: %d %.80s", rec.Code, rec.Body.String())
	}
}
