package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/django-runserver/django-runserver/server/contract"
)

// Fuzz targets for every parser of Django's output. Seeds: the captured
// Django output in testdata/django-output, plus testdata/fuzz/<Fuzz…>.

// fuzzSeedOutput seeds f with the captured output, and with seeds.
func fuzzSeedOutput(f *testing.F, seeds ...string) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "django-output", "*.txt"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
}

// FuzzTracebackParser feeds arbitrary text line by line: no panic, frames
// bounded, every traceback well formed, Locate and Summary safe.
func FuzzTracebackParser(f *testing.F) {
	fuzzSeedOutput(f,
		"Traceback (most recent call last):\n  File \"/p/x.py\", line 3, in <module>\n    import y\nModuleNotFoundError: No module named 'y'\n",
		"Traceback (most recent call last):\n  File \"/p/x.py\", line 9\n    def f(:\n         ^\nSyntaxError: invalid syntax\n",
		"Traceback (most recent call last):\n  File \"\", line -1, in \n.\n")
	f.Fuzz(func(t *testing.T, text string) {
		var p TracebackParser
		for _, line := range strings.Split(text, "\n") {
			tb := p.Feed(line)
			if tb == nil {
				continue
			}
			if len(tb.Frames) > maxFrames {
				t.Fatalf("%d frames kept, more than %d", len(tb.Frames), maxFrames)
			}
			if !isDottedIdent(tb.Exception) {
				t.Fatalf("exception %q is not a dotted identifier", tb.Exception)
			}
			for _, fr := range tb.Frames {
				if fr.Line < 0 {
					t.Fatalf("negative line %d", fr.Line)
				}
			}
			_ = tb.Summary()
			if s := tb.ShortException(); s == "" || strings.Contains(s, ".") {
				t.Fatalf("short exception %q of %q", s, tb.Exception)
			}
			if fr, ok := tb.Locate("/p"); ok && fr.Line < 0 {
				t.Fatalf("located a negative line")
			}
			_, _ = tb.Locate("")
			if p.Last() != tb {
				t.Fatal("Last is not the traceback just completed")
			}
		}
		p.Reset()
		if p.Last() != nil {
			t.Fatal("Reset kept a traceback")
		}
	})
}

// FuzzReloadLines: Django's reloader lines ("… changed, reloading.",
// "Watching for file changes with …").
func FuzzReloadLines(f *testing.F) {
	fuzzSeedOutput(f, "/p/polls/views.py changed, reloading.", " changed, reloading. \r", "Watching for file changes with StatReloader")
	f.Fuzz(func(t *testing.T, line string) {
		path, ok := ReloadTriggered(line)
		if ok {
			if path == "" || path != strings.TrimSpace(path) {
				t.Fatalf("path %q from %q", path, line)
			}
			if !strings.Contains(line, path) {
				t.Fatalf("path %q is not from the line", path)
			}
		} else if path != "" {
			t.Fatalf("path %q without ok", path)
		}
		_ = ReloaderStarted(line)
		if utf8.ValidString(line) && !utf8.ValidString(path) {
			t.Fatalf("valid line gave invalid path %q", path)
		}
	})
}

// FuzzRequestLines: Django's request log lines and the shim's reports of a
// request's exception.
func FuzzRequestLines(f *testing.F) {
	fuzzSeedOutput(f, `[07/Dec/2026 01:20:39] "GET /shop/?q=%zz HTTP/1.1" 200 1234`, `" HTTP/1.1" 200`,
		contract.RequestErrorPrefix+`{"exception": "E", "message": "m", "frames": [{"file": "/p/x.py", "line": -1, "func": ""}]}`)
	f.Fuzz(func(t *testing.T, line string) {
		if req, ok := RequestLogged(line); ok && (req.Method == "" || req.Status < 0 || req.Status > 999) {
			t.Fatalf("request %+v from %q", req, line)
		}
		re, ok := RequestFailed(line)
		if re == nil {
			return
		}
		if !ok || !isDottedIdent(re.Exception) {
			t.Fatalf("report %+v from %q", re, line)
		}
		for _, fr := range RequestTraceback(re).Frames {
			if fr.Line <= 0 {
				t.Fatalf("frame without a line: %+v", fr)
			}
		}
		_, _ = RequestTraceback(re).Locate("/p")
	})
}
