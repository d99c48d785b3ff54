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

// RequestLogged parses a line of Django's request log, or of Daphne's
// (its runserver logs each request its own way).
func RequestLogged(line string) (Request, bool) {
	if r, ok := djangoRequestLogged(line); ok {
		return r, true
	}
	return daphneRequestLogged(line)
}

// djangoRequestLogged parses a line of runserver's request log: `"GET
// /shop/?page=2 HTTP/1.1" 200 1234`.
func djangoRequestLogged(line string) (Request, bool) {
	open := strings.IndexByte(line, '"')
	if open < 0 {
		return Request{}, false
	}
	quoted, rest, ok := strings.Cut(line[open+1:], `" `)
	if !ok {
		return Request{}, false
	}
	fields := strings.Fields(quoted)
	if len(fields) != 3 || !strings.HasPrefix(fields[2], "HTTP/") {
		return Request{}, false
	}
	code, _, _ := strings.Cut(rest, " ")
	return request(fields[0], fields[1], code)
}

// daphneRequestLogged parses a line of Daphne's runserver's request log:
// `HTTP GET /shop/?page=2 200 [0.01, 127.0.0.1:50312]`. The target is as
// the client sent it, percent-encoded, so the last "HTTP " starts the
// request, after whatever a project's LOGGING puts before it.
func daphneRequestLogged(line string) (Request, bool) {
	at := strings.LastIndex(line, "HTTP ")
	if at < 0 {
		return Request{}, false
	}
	fields := strings.Fields(line[at+len("HTTP "):])
	if len(fields) < 4 || !strings.HasPrefix(fields[3], "[") {
		return Request{}, false
	}
	return request(fields[0], fields[1], fields[2])
}

// request is the Request of a logged method, target and status code.
func request(method, target, code string) (Request, bool) {
	if !isToken(method) {
		return Request{}, false
	}
	status, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 {
		return Request{}, false
	}
	target, _, _ = strings.Cut(target, "?")
	path, err := url.PathUnescape(target)
	if err != nil {
		path = target
	}
	return Request{Method: method, Path: path, Status: status}, true
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
