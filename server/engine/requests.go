package engine

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/text"
	"github.com/django-runserver/django-runserver/server/parse"
)

// failedRequest is the diagnostic of a request that raised, on the file
// at uri.
type failedRequest struct {
	uri        string
	diagnostic protocol.Diagnostic
}

// requestFailed puts the exception a request of r's process raised in the
// Problems panel, on the template line or the deepest frame of the
// project, with the request and the project's other frames as related
// information; the terminal gets one line that says where.
func (e *Engine) requestFailed(r *run, re *contract.RequestError) {
	if r != e.run {
		return // a process already replaced: its code is gone
	}
	tb := parse.RequestTraceback(re)
	spot, ok := e.requestSpot(re, tb)
	if !ok {
		return // nothing of the project's to point at: Django's log says it all
	}
	request := re.Method + " " + re.Path
	d := protocol.Diagnostic{
		Range:    lineRange(spot.File, spot.Line-1),
		Severity: protocol.SeverityError,
		Code:     protocol.DiagnosticRequestFailed,
		Source:   protocol.DiagnosticSource,
		Message:  text.Truncate(tb.Summary(), 500),
	}
	uri := fileuri.FromPath(spot.File)
	d.RelatedInformation = append(d.RelatedInformation, protocol.DiagnosticRelatedInformation{
		Location: protocol.Location{URI: uri, Range: d.Range},
		Message:  "Raised while serving " + request,
	})
	frames := tb.InWorkspace(e.folder)
	for i := len(frames) - 1; i >= 0; i-- { // the deepest first, as the spot is
		if f := frames[i]; f.File != spot.File || f.Line != spot.Line {
			d.RelatedInformation = append(d.RelatedInformation, protocol.DiagnosticRelatedInformation{
				Location: protocol.Location{URI: fileuri.FromPath(f.File), Range: lineRange(f.File, f.Line-1)},
				Message:  "in " + f.Func,
			})
		}
	}
	old, had := e.failedRequests[re.Path]
	e.failedRequests[re.Path] = failedRequest{uri: uri, diagnostic: d}
	if had && old.uri != uri {
		e.publish(old.uri)
	}
	e.publish(uri)
	e.log(protocol.MessageError, fmt.Sprintf("%s %s raised %s (%s:%d)", e.name(), request, text.Truncate(tb.Summary(), 300), e.rel(spot.File), spot.Line))
}

// requestSpot is where a request's exception is shown: the template line
// Django's template debug names, when the template is the project's file,
// else the deepest frame of the project.
func (e *Engine) requestSpot(re *contract.RequestError, tb *parse.Traceback) (parse.Frame, bool) {
	if t := re.Template; t != nil && t.Line > 0 && filepath.IsAbs(t.File) && parse.InProject(e.folder, t.File) {
		if _, err := os.Stat(t.File); err == nil { // not a name of some other loader
			return parse.Frame{File: t.File, Line: t.Line}, true
		}
	}
	return tb.Locate(e.folder)
}

// requestSucceeded clears the diagnostic of path once a request to it
// succeeds: the error is fixed, or was the data's and is gone.
func (e *Engine) requestSucceeded(r *run, path string) {
	f, ok := e.failedRequests[path]
	if r != e.run || !ok {
		return
	}
	delete(e.failedRequests, path)
	e.publish(f.uri)
}
