package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func captured(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "django-output", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func feed(lines []string) *Traceback {
	var p TracebackParser
	for _, l := range lines {
		p.Feed(l)
	}
	return p.Last()
}

func TestSyntaxErrorFromDjango(t *testing.T) {
	tb := feed(captured(t, "syntax-error-django32.txt"))
	if tb == nil {
		t.Fatal("no traceback parsed")
	}
	if tb.Exception != "SyntaxError" || tb.Message != "'(' was never closed" {
		t.Errorf("exception = %q %q", tb.Exception, tb.Message)
	}
	f, ok := tb.Locate("/tmp/tbx")
	if !ok || f.File != "/tmp/tbx/polls/views.py" || f.Line != 4 {
		t.Errorf("located %+v %v, want /tmp/tbx/polls/views.py:4", f, ok)
	}
}

func TestImportErrorFromDjango(t *testing.T) {
	tb := feed(captured(t, "import-error-django32.txt"))
	if tb == nil || tb.ShortException() != "ModuleNotFoundError" || tb.Message != "No module named 'nosuchmodule'" {
		t.Fatalf("traceback = %+v", tb)
	}
	// The deepest frame inside the project, not Django's or importlib's.
	f, ok := tb.Locate("/tmp/tbx")
	if !ok || f.File != "/tmp/tbx/polls/views.py" || f.Line != 2 {
		t.Errorf("located %+v, want views.py:2", f)
	}
	// Outside the project nothing qualifies.
	if f, ok := tb.Locate("/elsewhere"); ok {
		t.Errorf("located %+v outside the root", f)
	}
}

func TestLocateSkipsLibrariesInsideTheFolder(t *testing.T) {
	tb := &Traceback{Exception: "ValueError", Frames: []Frame{
		{File: "/p/app/views.py", Line: 3, Func: "index"},
		{File: "/p/.venv/lib/python3.12/site-packages/lib/x.py", Line: 9, Func: "f"},
	}}
	if f, _ := tb.Locate("/p"); f.File != "/p/app/views.py" {
		t.Errorf("located %+v, want the project's frame", f)
	}
}

func TestChainedTracebacksKeepTheLast(t *testing.T) {
	lines := []string{
		"Traceback (most recent call last):",
		`  File "/p/a.py", line 1, in <module>`,
		"KeyError: 'x'",
		"",
		"During handling of the above exception, another exception occurred:",
		"",
		"Traceback (most recent call last):",
		`  File "/p/b.py", line 7, in <module>`,
		"    raise ImproperlyConfigured('bad')",
		"django.core.exceptions.ImproperlyConfigured: bad",
	}
	tb := feed(lines)
	if tb == nil || tb.Exception != "django.core.exceptions.ImproperlyConfigured" || tb.ShortException() != "ImproperlyConfigured" || tb.Frames[0].File != "/p/b.py" {
		t.Errorf("traceback = %+v", tb)
	}
	if tb.Summary() != "django.core.exceptions.ImproperlyConfigured: bad" {
		t.Errorf("summary = %q", tb.Summary())
	}
}

func TestNotATraceback(t *testing.T) {
	for _, lines := range [][]string{
		{"Traceback (most recent call last):", `  File "/p/a.py", line 1, in <module>`, "[25/Nov/2026 00:35:28] \"GET / HTTP/1.1\" 200 187"},
		{"Performing system checks...", "System check identified no issues (0 silenced)."},
		{`  File "/p/a.py", line 1, in <module>`, "KeyError: 'x'"},
	} {
		if tb := feed(lines); tb != nil {
			t.Errorf("%q parsed as %+v", lines, tb)
		}
	}
}

func TestBannerAndReloaderLines(t *testing.T) {
	started := false
	for _, l := range captured(t, "banner-django32.txt") {
		started = started || ReloaderStarted(l)
	}
	if !started {
		t.Error("Django's reloader line was not recognised")
	}
	if p, ok := ReloadTriggered("/srv/app/polls/views.py changed, reloading."); !ok || p != "/srv/app/polls/views.py" {
		t.Errorf("reload path = %q %v", p, ok)
	}
	if _, ok := ReloadTriggered("changed, reloading."); ok {
		t.Error("a reload line without a path was accepted")
	}
}
