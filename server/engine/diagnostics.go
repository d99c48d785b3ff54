package engine

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// publishError puts a failure in the Problems panel: a traceback at its
// file and line, a bind error where the address is set.
func (e *Engine) publishError(perr *protocol.Error) {
	switch {
	case perr.File != "" && perr.Line > 0:
		line := perr.Line - 1
		e.addDiagnostic(fileuri.FromPath(perr.File), protocol.Diagnostic{
			Range:    lineRange(perr.File, line),
			Severity: protocol.SeverityError,
			Code:     string(perr.Code),
			Source:   protocol.DiagnosticSource,
			Message:  perr.Message,
		})
	case isBindError(perr.Code):
		path, line := e.addressLocation()
		if path != "" {
			e.addDiagnostic(fileuri.FromPath(path), protocol.Diagnostic{
				Range:    lineRange(path, line),
				Severity: protocol.SeverityError,
				Code:     string(perr.Code),
				Source:   protocol.DiagnosticSource,
				Message:  perr.Message,
			})
		}
	}
}

// warnWildcard flags a server reachable from the network.
func (e *Engine) warnWildcard() {
	path, line := e.addressLocation()
	if path == "" {
		return
	}
	e.addDiagnostic(fileuri.FromPath(path), protocol.Diagnostic{
		Range:    lineRange(path, line),
		Severity: protocol.SeverityWarning,
		Code:     "public-address",
		Source:   protocol.DiagnosticSource,
		Message:  "The server listens on " + e.addr.String() + ", so it is reachable from other machines on your network. Use 127.0.0.1 unless you mean to share it.",
	})
}

func isBindError(c protocol.ErrorCode) bool {
	switch c {
	case protocol.CodePortInUse, protocol.CodePermissionDenied, protocol.CodeAddressUnavailable, protocol.CodeInvalidAddress:
		return true
	}
	return false
}

// addressLocation is the line of .vscode/settings.json that sets
// djangoRunserver.address, else line 0 of manage.py.
func (e *Engine) addressLocation() (string, int) {
	settings := filepath.Join(e.folder, ".vscode", "settings.json")
	if f, err := os.Open(settings); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 0; sc.Scan(); n++ {
			if strings.Contains(sc.Text(), `"djangoRunserver.address"`) {
				return settings, n
			}
		}
	}
	return e.managePy, 0
}

func (e *Engine) addDiagnostic(uri string, d protocol.Diagnostic) {
	e.diags[uri] = append(e.diags[uri], d)
	e.n.Diagnostics(uri, e.diags[uri])
}

func (e *Engine) clearDiagnostics() {
	for uri := range e.diags {
		e.n.Diagnostics(uri, []protocol.Diagnostic{})
		delete(e.diags, uri)
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
