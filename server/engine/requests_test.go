package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// report is the shim's line for re.
func report(t *testing.T, re contract.RequestError) string {
	t.Helper()
	b, err := json.Marshal(re)
	if err != nil {
		t.Fatal(err)
	}
	return contract.RequestErrorPrefix + string(b)
}

func writeFiles(t *testing.T, folder string, names ...string) []string {
	t.Helper()
	var paths []string
	for _, name := range names {
		p := filepath.Join(folder, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("line\n", 9)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// A request's exception is shown on the project's deepest frame (not a
// library's, even inside the folder), with the request and the other
// frames related, or on the template line Django names; the path's next
// success clears it, a failure does not, and a new process clears all.
func TestRequestErrorMapping(t *testing.T) {
	r := newRig(t, nil, nil)
	p := r.running(t)
	files := writeFiles(t, r.folder, "shop/views.py", "shop/helpers.py", ".venv/lib/python3.11/site-packages/lib.py", "shop/templates/page.html")
	views, helpers, lib, page := files[0], files[1], files[2], files[3]
	frames := []contract.RequestFrame{
		{File: "/usr/lib/python3/dist-packages/django/core/handlers/base.py", Line: 197, Func: "_get_response"},
		{File: views, Line: 3, Func: "index"},
		{File: helpers, Line: 7, Func: "ratio"},
		{File: lib, Line: 5, Func: "divide"},
	}
	p.stderr(report(t, contract.RequestError{Method: "GET", Path: "/shop/", Exception: "ZeroDivisionError", Message: "division by zero", Frames: frames}))

	uri := fileuri.FromPath(helpers)
	r.rec.await(t, "the request's diagnostic", func(r *recorder) bool { return len(r.diags[uri]) == 1 })
	d := r.rec.diags[uri][0]
	if d.Range.Start.Line != 6 || d.Range.End.Character != 4 || d.Message != "ZeroDivisionError: division by zero" ||
		d.Code != protocol.DiagnosticRequestFailed || d.Severity != protocol.SeverityError || d.Source != protocol.DiagnosticSource {
		t.Errorf("diagnostic = %+v, want the exception's line on line 6 (0-based) of helpers.py", d)
	}
	want := []protocol.DiagnosticRelatedInformation{
		{Location: protocol.Location{URI: uri, Range: d.Range}, Message: "Raised while serving GET /shop/"},
		{Location: protocol.Location{URI: fileuri.FromPath(views), Range: lineRange(views, 2)}, Message: "in index"},
	}
	if !slices.Equal(d.RelatedInformation, want) {
		t.Errorf("related = %+v, want %+v", d.RelatedInformation, want)
	}
	r.rec.await(t, "the line that says where", func(r *recorder) bool {
		return slices.ContainsFunc(r.messages, func(m Message) bool {
			return m.Type == protocol.MessageError && strings.HasSuffix(m.Text, "GET /shop/ raised ZeroDivisionError: division by zero (shop/helpers.py:7)")
		})
	})

	// A template's line wins; the same path replaces its diagnostic.
	p.stderr(report(t, contract.RequestError{Method: "GET", Path: "/shop/", Exception: "django.template.exceptions.TemplateSyntaxError",
		Message: "Invalid block tag", Frames: frames[:2], Template: &contract.TemplateSpot{File: page, Line: 2}}))
	pageURI := fileuri.FromPath(page)
	r.rec.await(t, "moved to the template", func(r *recorder) bool { return len(r.diags[pageURI]) == 1 && len(r.diags[uri]) == 0 })
	if d := r.rec.diags[pageURI][0]; d.Range.Start.Line != 1 || len(d.RelatedInformation) != 2 || d.RelatedInformation[1].Location.URI != fileuri.FromPath(views) {
		t.Errorf("template diagnostic = %+v, want line 1 with the view related", d)
	}

	// A template that is no file of the project's falls back to the frames.
	p.stderr(report(t, contract.RequestError{Method: "POST", Path: "/cart/", Exception: "ValueError", Frames: frames[:2],
		Template: &contract.TemplateSpot{File: "index.html", Line: 1}}))
	viewsURI := fileuri.FromPath(views)
	r.rec.await(t, "the view's", func(r *recorder) bool { return len(r.diags[viewsURI]) == 1 })

	p.stderr(`[07/Dec/2026 01:20:39] "GET /shop/?page=2 HTTP/1.1" 500 145`)
	p.stderr(`[07/Dec/2026 01:20:39] "GET /shop/?page=2 HTTP/1.1" 200 145`)
	r.rec.await(t, "cleared by the path's success", func(r *recorder) bool { return len(r.diags[pageURI]) == 0 })
	if len(r.rec.diags[viewsURI]) != 1 {
		t.Errorf("another path's diagnostic went too: %+v", r.rec.diags[viewsURI])
	}

	// A new process: what the old code raised is gone, and a late report
	// of the old process is not shown.
	p.exit(contract.ExitReload)
	next := r.launch.proc(t, 2)
	p.stderr(report(t, contract.RequestError{Method: "GET", Path: "/late/", Exception: "KeyError", Frames: frames[:2]}))
	next.becomeReady()
	r.settle(t)
	r.e.Status()
	r.rec.await(t, "cleared by the new process", func(r *recorder) bool { return len(r.diags[viewsURI]) == 0 })
}
