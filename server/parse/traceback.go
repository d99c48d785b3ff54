package parse

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/django-runserver/django-runserver/server/fileuri"
)

// Frame is one `File "…", line N` entry of a traceback.
type Frame struct {
	File string
	Line int
	// Func is the function name, empty for a SyntaxError's location line.
	Func string
}

// Traceback is a Python traceback as printed to stderr.
type Traceback struct {
	Frames []Frame
	// Exception is the exception's type, e.g. "SyntaxError" or
	// "django.core.exceptions.ImproperlyConfigured".
	Exception string
	// Message is the text after the type, possibly empty.
	Message string
}

// Summary is the exception line as Python prints it.
func (t *Traceback) Summary() string {
	if t.Message == "" {
		return t.Exception
	}
	return t.Exception + ": " + t.Message
}

// ShortException is the exception type without its module.
func (t *Traceback) ShortException() string {
	return t.Exception[strings.LastIndex(t.Exception, ".")+1:]
}

// Locate returns the frame to show the user: a SyntaxError's own location,
// otherwise the deepest frame inside root that is not in a library. It
// reports false when no frame qualifies.
func (t *Traceback) Locate(root string) (Frame, bool) {
	for i := len(t.Frames) - 1; i >= 0; i-- {
		f := t.Frames[i]
		if f.Func == "" && i == len(t.Frames)-1 {
			return f, true // a SyntaxError's `File "x.py", line N` has no function
		}
		if InProject(root, f.File) {
			return f, true
		}
	}
	return Frame{}, false
}

// InWorkspace returns the frames inside root that are not in a library,
// oldest first: the project's own part of the traceback.
func (t *Traceback) InWorkspace(root string) []Frame {
	var frames []Frame
	for _, f := range t.Frames {
		if InProject(root, f.File) {
			frames = append(frames, f)
		}
	}
	return frames
}

// InProject reports whether file is the project's own: inside root, and not
// in a library installed there.
func InProject(root, file string) bool {
	return fileuri.Inside(root, file) && !isLibrary(file)
}

// isLibrary reports paths of installed packages, which may live inside the
// folder (a virtualenv in .venv, for example).
func isLibrary(file string) bool {
	slashed := filepath.ToSlash(file)
	for _, dir := range []string{"/site-packages/", "/dist-packages/", "/lib/python"} {
		if strings.Contains(slashed, dir) {
			return true
		}
	}
	return false
}

// TracebackParser assembles tracebacks from stderr, one line at a time. It
// keeps only what it needs, so its memory stays bounded whatever the output.
type TracebackParser struct {
	inTraceback bool
	frames      []Frame
	last        *Traceback
}

// maxFrames bounds the frames kept of one traceback: the deepest ones
// matter, so the oldest are dropped first.
const maxFrames = 256

// Feed parses one line. It returns the traceback that line completed, if any.
func (p *TracebackParser) Feed(line string) *Traceback {
	line = strings.TrimRight(line, "\r")
	if strings.HasPrefix(line, "Traceback (most recent call last):") {
		p.inTraceback = true
		p.frames = p.frames[:0]
		return nil
	}
	if !p.inTraceback {
		return nil
	}
	if f, ok := frameLine(line); ok {
		if len(p.frames) == maxFrames {
			copy(p.frames, p.frames[1:])
			p.frames = p.frames[:maxFrames-1]
		}
		p.frames = append(p.frames, f)
		return nil
	}
	if line == "" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
		return nil // source lines, carets and blank lines between frames
	}
	// The first unindented line that is not a frame ends the traceback.
	p.inTraceback = false
	exc, msg := exceptionLine(line)
	if exc == "" {
		return nil
	}
	t := &Traceback{Frames: append([]Frame(nil), p.frames...), Exception: exc, Message: msg}
	p.last = t
	return t
}

// Last returns the most recent complete traceback, or nil.
func (p *TracebackParser) Last() *Traceback { return p.last }

// Reset forgets every traceback seen so far.
func (p *TracebackParser) Reset() {
	p.inTraceback = false
	p.frames = p.frames[:0]
	p.last = nil
}

// frameLine parses `  File "/p/x.py", line 12, in <module>` and a
// SyntaxError's `  File "/p/x.py", line 12`.
func frameLine(line string) (Frame, bool) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(line, " "), `File "`)
	if !ok || !strings.HasPrefix(line, " ") {
		return Frame{}, false
	}
	end := strings.LastIndex(rest, `", line `)
	if end < 0 {
		return Frame{}, false
	}
	f := Frame{File: rest[:end]}
	rest = rest[end+len(`", line `):]
	num, fn, _ := strings.Cut(rest, ", in ")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return Frame{}, false
	}
	f.Line = n
	f.Func = fn
	return f, true
}

// exceptionLine splits "pkg.Error: message" into type and message. A line
// that does not start with a dotted identifier is not an exception line.
func exceptionLine(line string) (exc, msg string) {
	exc, msg, _ = strings.Cut(line, ":")
	if !isDottedIdent(exc) {
		return "", ""
	}
	return exc, strings.TrimSpace(msg)
}

func isDottedIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			letter := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
			if !letter && (i == 0 || r < '0' || r > '9') {
				return false
			}
		}
	}
	return true
}
