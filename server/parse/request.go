package parse

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/django-runserver/django-runserver/server/contract"
)

// Request is one line of Django's request log: `"GET /shop/?page=2
// HTTP/1.1" 200 1234`, after the time or whatever a project's LOGGING puts
// before it.
type Request struct {
	Method string
	// Path is the request's path, decoded, without the query string: as
	// Django's request.path has it.
	Path   string
	Status int
}

// RequestLogged parses a line of Django's request log.
func RequestLogged(line string) (Request, bool) {
	open := strings.IndexByte(line, '"')
	if open < 0 {
		return Request{}, false
	}
	quoted, rest, ok := strings.Cut(line[open+1:], `" `)
	if !ok {
		return Request{}, false
	}
	fields := strings.Fields(quoted)
	if len(fields) != 3 || !strings.HasPrefix(fields[2], "HTTP/") || !isToken(fields[0]) {
		return Request{}, false
	}
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 {
		return Request{}, false
	}
	target, _, _ := strings.Cut(fields[1], "?")
	path, err := url.PathUnescape(target)
	if err != nil {
		path = target
	}
	return Request{Method: fields[0], Path: path, Status: status}, true
}

// isToken reports an HTTP method: upper-case letters.
func isToken(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return s != ""
}

// RequestFailed parses the line on which a server reports an exception a
// request raised (contract.RequestErrorPrefix).
func RequestFailed(line string) (*contract.RequestError, bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), contract.RequestErrorPrefix)
	if !ok {
		return nil, false
	}
	var re contract.RequestError
	if json.Unmarshal([]byte(rest), &re) != nil || !isDottedIdent(re.Exception) {
		return nil, true // the line is ours all the same: never shown as output
	}
	return &re, true
}

// RequestTraceback is the traceback of a reported request error.
func RequestTraceback(re *contract.RequestError) *Traceback {
	tb := &Traceback{Exception: re.Exception, Message: re.Message}
	for _, f := range re.Frames {
		if f.Line > 0 {
			tb.Frames = append(tb.Frames, Frame{File: f.File, Line: f.Line, Func: f.Func})
		}
	}
	return tb
}
