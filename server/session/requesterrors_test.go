package session

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// ratioSite is mysite with two views that divide by the query's d (0 when
// absent), so the same path fails or succeeds by its query alone: /ratio/
// in the view, /page/ in its template, polls/ratio.html.
func ratioSite(t *testing.T) (dir, views, page string) {
	t.Helper()
	dir = testenv.Project(t, "mysite")
	views = filepath.Join(dir, "polls", "views.py")
	page = filepath.Join(dir, "polls", "templates", "polls", "ratio.html")
	appendTo(t, views, `

def ratio(request):
    d = int(request.GET.get('d', '0'))
    return HttpResponse('ratio %s' % (1 / d))


def page(request):
    d = int(request.GET.get('d', '0'))
    return render(request, 'polls/ratio.html', {'ratio': lambda: 1 / d})
`)
	testenv.Rewrite(t, filepath.Join(dir, "polls", "urls.py"), "urlpatterns = [", `urlpatterns = [
    path('ratio/', views.ratio),
    path('page/', views.page),`)
	if err := os.WriteFile(page, []byte("<!doctype html>\n<p>ratio {{ ratio }}</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, views, page
}

// ratioServer is a server running on a ratioSite, with its editor.
type ratioServer struct {
	c                *fakeeditor.Env
	url, views, page string
}

// startRatio starts a server with settings on a new ratioSite and waits
// until it runs.
func startRatio(t *testing.T, settings map[string]any) ratioServer {
	t.Helper()
	dir, views, page := ratioSite(t)
	c := fakeeditor.New(t, Serve)
	c.Initialize(settings, dir)
	return ratioServer{c: c, url: c.StartRunning("").URL, views: views, page: page}
}

// fixView makes the view divide by at least 1, and returns the mark before
// the change, for the caller to save it its own way.
func (r ratioServer) fixView(t *testing.T) int {
	t.Helper()
	from := r.c.Mark()
	testenv.Rewrite(t, r.views, "(1 / d)", "(1 / max(d, 1))")
	return from
}

// awaitFixed waits for the server to run the fixed view after from: the
// view's diagnostic is cleared, /ratio/ succeeds, and the shim's report
// never reached Django's output.
func (r ratioServer) awaitFixed(t *testing.T, from int) {
	t.Helper()
	r.c.AwaitState(from, "", protocol.StateRunning)
	awaitCleared(r.c, r.views)
	wantStatus(t, r.url+"ratio/", http.StatusOK)
	noReportShown(t, r.c)
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(text)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// wantStatus gets url and wants its status code.
func wantStatus(t *testing.T, url string, want int) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, want)
	}
}

// awaitRequestError waits for the one diagnostic of a failed request on
// path, and checks it: on line (1-based), with the exception's line as its
// message and the request first in its related information.
func awaitRequestError(t *testing.T, c *fakeeditor.Env, path string, line int, message, request string) protocol.Diagnostic {
	t.Helper()
	diags := c.AwaitDiagnostics(fileuri.FromPath(path), "a failed request", func(d []protocol.Diagnostic) bool { return len(d) == 1 })
	d := diags[0]
	if d.Range.Start.Line != line-1 || d.Severity != protocol.SeverityError || d.Code != protocol.DiagnosticRequestFailed ||
		d.Source != protocol.DiagnosticSource || !strings.HasPrefix(d.Message, message) {
		t.Fatalf("diagnostic = %+v, want an error %q on line %d (0-based), %q", d, protocol.DiagnosticRequestFailed, line-1, message)
	}
	if len(d.RelatedInformation) == 0 || d.RelatedInformation[0].Message != "Raised while serving "+request {
		t.Fatalf("related information = %+v, want the request %q first", d.RelatedInformation, request)
	}
	return d
}

func awaitCleared(c *fakeeditor.Env, path string) {
	c.T.Helper()
	c.AwaitDiagnostics(fileuri.FromPath(path), "cleared", func(d []protocol.Diagnostic) bool { return len(d) == 0 })
}

// relatedOn wants an entry of d's related information on line (1-based)
// of path.
func relatedOn(t *testing.T, d protocol.Diagnostic, path string, line int) {
	t.Helper()
	for _, r := range d.RelatedInformation[1:] {
		if r.Location.URI == fileuri.FromPath(path) && r.Location.Range.Start.Line == line-1 {
			return
		}
	}
	t.Errorf("related information = %+v, want %s:%d", d.RelatedInformation, path, line)
}

// noReportShown fails if the shim's report reached Django's output.
func noReportShown(t *testing.T, c *fakeeditor.Env) {
	t.Helper()
	for _, l := range c.LogLines(0) {
		if strings.Contains(l.Text, contract.RequestErrorPrefix) {
			t.Errorf("the shim's report was shown as output: %q", l.Text)
		}
	}
}

// A view that raises puts the exception on its line; the same path
// succeeding clears it, and so does the reload that fixes it.
func TestRequestErrorOnTheView(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, django testenv.Django) {
		r := startRatio(t, onDjango(django, testenv.FreePort(t)))
		c, views := r.c, r.views
		divide := testenv.LineOf(t, views, "(1 / d)")

		wantStatus(t, r.url+"ratio/", http.StatusInternalServerError)
		d := awaitRequestError(t, c, views, divide, "ZeroDivisionError: division by zero", "GET /ratio/")
		if len(d.RelatedInformation) != 1 {
			t.Errorf("related information = %+v, want the request alone: no other frame is the project's", d.RelatedInformation)
		}
		wantStatus(t, r.url+"ratio/?d=2", http.StatusOK)
		awaitCleared(c, views)

		wantStatus(t, r.url+"ratio/", http.StatusInternalServerError)
		awaitRequestError(t, c, views, divide, "ZeroDivisionError", "GET /ratio/")
		from := r.fixView(t)
		c.Save(views)
		r.awaitFixed(t, from)
	})
}

// A process forked from a preloader reports as a cold one does: the shim
// connects its receiver in the child.
func TestRequestErrorInAWarmProcess(t *testing.T) {
	r := startRatio(t, settings(t, testenv.FreePort(t)))
	c, views := r.c, r.views
	deadline := time.Now().Add(fakeeditor.AwaitTimeout)
	for i := 0; ; i++ { // a reload before the preloader is ready starts cold
		from := c.Mark()
		appendTo(t, views, fmt.Sprintf("\n# edit %d\n", i))
		c.Save(views)
		if st := c.AwaitState(from, "", protocol.StateRunning); st.Start == protocol.StartWarm {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no reload was warm within %s; the last was %s: %s", fakeeditor.AwaitTimeout, st.Start, st.ColdReason)
		}
	}
	wantStatus(t, r.url+"ratio/", http.StatusInternalServerError)
	awaitRequestError(t, c, views, testenv.LineOf(t, views, "(1 / d)"), "ZeroDivisionError: division by zero", "GET /ratio/")
}

// A template's error lands on the template's line, with the view that
// rendered it as related information: a syntax error, and a variable whose
// lookup raises. Fast mode serves a fixed template without a new process,
// so the next success of the path clears it.
func TestRequestErrorOnTheTemplate(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, django testenv.Django) {
		r := startRatio(t, onDjango(django, testenv.FreePort(t)))
		c, views, page := r.c, r.views, r.page
		render := testenv.LineOf(t, views, "polls/ratio.html")

		wantStatus(t, r.url+"page/", http.StatusInternalServerError)
		d := awaitRequestError(t, c, page, 2, "ZeroDivisionError: division by zero", "GET /page/")
		relatedOn(t, d, views, render)

		from := c.Mark()
		testenv.Rewrite(t, page, "{{ ratio }}", "{% no_such_tag %}")
		c.Save(page)
		c.Await(from, fakeeditor.LogContains("served without a restart"))
		wantStatus(t, r.url+"page/?d=1", http.StatusInternalServerError)
		d = awaitRequestError(t, c, page, 2, "django.template.exceptions.TemplateSyntaxError: Invalid block tag on line 2: 'no_such_tag'", "GET /page/")
		relatedOn(t, d, views, render)

		from = c.Mark()
		testenv.Rewrite(t, page, "{% no_such_tag %}", "{{ ratio }}")
		c.Save(page)
		c.Await(from, fakeeditor.LogContains("served without a restart"))
		wantStatus(t, r.url+"page/?d=1", http.StatusOK)
		awaitCleared(c, page)
		noReportShown(t, c)
	})
}

// Under Django's own reloader the serving child reports too, and its
// restart clears what the old code raised.
func TestRequestErrorDjangoMode(t *testing.T) {
	r := startRatio(t, settings(t, testenv.FreePort(t), "reload", "django", "env", hideWatchman(t)))

	wantStatus(t, r.url+"ratio/", http.StatusInternalServerError)
	awaitRequestError(t, r.c, r.views, testenv.LineOf(t, r.views, "(1 / d)"), "ZeroDivisionError: division by zero", "GET /ratio/")
	from := r.fixView(t)
	saveUntil(r.c, from, r.views, protocol.StateReloading)
	r.awaitFixed(t, from)
}

// With reload off the process serves as in fast mode: a template's error
// is reported, and cleared by the path's next success.
func TestRequestErrorReloadOff(t *testing.T) {
	r := startRatio(t, settings(t, testenv.FreePort(t), "reload", "off"))

	wantStatus(t, r.url+"page/", http.StatusInternalServerError)
	d := awaitRequestError(t, r.c, r.page, 2, "ZeroDivisionError: division by zero", "GET /page/")
	relatedOn(t, d, r.views, testenv.LineOf(t, r.views, "polls/ratio.html"))
	wantStatus(t, r.url+"page/?d=1", http.StatusOK)
	awaitCleared(r.c, r.page)
}

// hideWatchman is an environment in which pywatchman does not import.
// Django picks WatchmanReloader when it does, and watchman's service may
// not watch temporary folders: hide it, as Django's own tests do, so
// StatReloader runs.
func hideWatchman(t *testing.T) map[string]any {
	stub := filepath.Join(t.TempDir(), "pywatchman")
	os.MkdirAll(stub, 0o755)
	os.WriteFile(filepath.Join(stub, "__init__.py"), []byte("raise ImportError('hidden by the test')\n"), 0o644)
	return map[string]any{"PYTHONPATH": filepath.Dir(stub)}
}
