package engine

import (
	"bufio"
	"maps"
	"os"
	"slices"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// publishError puts a failure in the Problems panel: a traceback at its
// file and line, a bind error on manage.py's first line. A bind error's
// data names the address setting, so an editor that knows where the user
// set it may show it there instead.
func (e *Engine) publishError(perr *protocol.Error) {
	switch {
	case perr.File != "" && perr.Line > 0:
		e.addDiagnostic(perr.File, perr.Line-1, protocol.Diagnostic{
			Severity: protocol.SeverityError,
			Code:     string(perr.Code),
			Message:  perr.Message,
		})
	case isBindError(perr.Code) && e.managePy != "":
		e.addDiagnostic(e.managePy, 0, protocol.Diagnostic{
			Severity: protocol.SeverityError,
			Code:     string(perr.Code),
			Message:  perr.Message,
			Data:     &protocol.DiagnosticData{Setting: portcheck.Setting},
		})
	}
}

// warnWildcard flags a server reachable from the network.
func (e *Engine) warnWildcard() {
	if e.managePy == "" {
		return
	}
	e.addDiagnostic(e.managePy, 0, protocol.Diagnostic{
		Severity: protocol.SeverityWarning,
		Code:     "public-address",
		Message:  "The server listens on " + e.addr.String() + ", so it is reachable from other machines on your network. Use 127.0.0.1 unless you mean to share it.",
		Data:     &protocol.DiagnosticData{Setting: portcheck.Setting},
	})
}

func isBindError(c protocol.ErrorCode) bool {
	switch c {
	case protocol.CodePortInUse, protocol.CodePermissionDenied, protocol.CodeAddressUnavailable, protocol.CodeInvalidAddress:
		return true
	}
	return false
}

// addDiagnostic publishes d on line (0-based) of path, across the whole
// line, beside the file's other diagnostics.
func (e *Engine) addDiagnostic(path string, line int, d protocol.Diagnostic) {
	d.Range = lineRange(path, line)
	d.Source = protocol.DiagnosticSource
	uri := fileuri.FromPath(path)
	e.diags[uri] = append(e.diags[uri], d)
	e.publish(uri)
}

// publish sends everything the file at uri shows: the server's own
// diagnostics, then its failed requests' in the order of their paths.
func (e *Engine) publish(uri string) {
	list := append([]protocol.Diagnostic{}, e.diags[uri]...)
	for _, path := range slices.Sorted(maps.Keys(e.failedRequests)) {
		if f := e.failedRequests[path]; f.uri == uri {
			list = append(list, f.diagnostic)
		}
	}
	e.n.Diagnostics(uri, list)
}

// clearDiagnostics clears every file, as a new process starts or fails:
// what the last one said no longer holds.
func (e *Engine) clearDiagnostics() {
	uris := map[string]bool{}
	for uri := range e.diags {
		uris[uri] = true
	}
	for _, f := range e.failedRequests {
		uris[f.uri] = true
	}
	clear(e.diags)
	clear(e.failedRequests)
	for uri := range uris {
		e.n.Diagnostics(uri, []protocol.Diagnostic{})
	}
}

// lineRange spans line (0-based) of path, whole.
func lineRange(path string, line int) protocol.Range {
	end := 0
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for n := 0; sc.Scan(); n++ {
			if n == line {
				end = len([]rune(sc.Text()))
				break
			}
		}
	}
	return protocol.Range{Start: protocol.Position{Line: line}, End: protocol.Position{Line: line, Character: end}}
}
