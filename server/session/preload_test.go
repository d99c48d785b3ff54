//go:build linux

package session

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// freshView answers /fresh/ with everything a reload must load afresh: the
// view itself, the model's fields, a setting, an app config's attribute, a
// local package, a package of the "venv" outside the project, and a value
// of the environment file. It says whether Django was set up ahead, in a
// preloader (the models module was loaded by another process), or here. It
// also says what the process inherited: its
// first random number, how many unix sockets it holds (a cold start holds
// the live browser's ready channel; a warm one must hold no more, such as
// the preloader's control connection), and whether the database is open
// before any query.
const freshView = `

import os
import random

import localpkg.mod
import polls.models
import vendorpkg
from django.apps import apps
from django.conf import settings

FIRST_RANDOM = random.random()
VIEW = 'v1'


def _inherited():
    unix = set()
    with open('/proc/net/unix') as f:
        for line in f.read().splitlines()[1:]:
            unix.add(line.split()[6])
    sockets, db = 0, False
    for fd in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink('/proc/self/fd/' + fd)
        except OSError:
            continue
        if target.startswith('socket:[') and target[8:-1] in unix:
            sockets += 1
        db = db or target.endswith('db.sqlite3')
    return 'unix=%d db=%s' % (sockets, db)


INHERITED = _inherited()


def fresh(request):
    from polls.models import Question
    fields = ','.join(sorted(f.name for f in Question._meta.get_fields()))
    return HttpResponse(' '.join([
        'view=' + VIEW,
        'fields=' + fields,
        'setting=' + getattr(settings, 'PRELOAD_MARK', ''),
        'apps=' + getattr(apps.get_app_config('polls'), 'mark', ''),
        'local=' + localpkg.mod.VALUE,
        'vendor=' + vendorpkg.VALUE,
        'env=' + os.environ.get('PRELOAD_ENV', ''),
        'setup=' + ('here' if polls.models.LOADED_BY == os.getpid() else 'ahead'),
        'random=%r' % FIRST_RANDOM,
        INHERITED,
    ]))
`

// preloadProject is mysite with the fresh view, a local package, and a
// "venv" folder outside it whose package the view imports. It returns the
// project and the venv's package folder.
func preloadProject(t *testing.T) (dir, vendor string) {
	t.Helper()
	dir = testenv.Project(t, "mysite")
	vendor = filepath.Join(t.TempDir(), "venv", "lib", "site-packages")
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(vendor, "vendorpkg", "__init__.py"), "VALUE = 'vendor1'\n")
	write(filepath.Join(dir, "localpkg", "__init__.py"), "")
	write(filepath.Join(dir, "localpkg", "mod.py"), "VALUE = 'local1'\n")
	write(filepath.Join(dir, ".env"), "PRELOAD_ENV=env1\n")
	views := filepath.Join(dir, "polls", "views.py")
	b, err := os.ReadFile(views)
	if err != nil {
		t.Fatal(err)
	}
	write(views, string(b)+freshView)
	testenv.Rewrite(t, filepath.Join(dir, "polls", "urls.py"), "urlpatterns = [", "urlpatterns = [\n    path('fresh/', views.fresh),")
	testenv.Rewrite(t, filepath.Join(dir, "polls", "models.py"), "from django.db import models", "import os\n\nfrom django.db import models\n\nLOADED_BY = os.getpid()")
	testenv.Rewrite(t, filepath.Join(dir, "polls", "apps.py"), "    name = 'polls'", "    name = 'polls'\n    mark = 'apps1'")
	testenv.Rewrite(t, filepath.Join(dir, "mysite", "settings.py"), "INSTALLED_APPS = [", "PRELOAD_MARK = 'settings1'\n\nINSTALLED_APPS = [")
	return dir, vendor
}

// preloadSettings are d's settings with preloading on, the venv on
// PYTHONPATH and the project's environment file.
func preloadSettings(d testenv.Django, port int, vendor string, extra ...any) map[string]any {
	s := onDjango(d, port)
	env := s["env"].(map[string]any)
	path := vendor
	if p, ok := env["PYTHONPATH"].(string); ok {
		path += string(os.PathListSeparator) + p
	}
	env["PYTHONPATH"] = path
	s["envFile"] = ".env"
	s["preload"] = "auto"
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	return s
}

// edit rewrites path and saves it, and returns the status once the server
// runs again, with the body of /fresh/ then.
func edit(c *fakeeditor.Env, url, path, old, new string) (protocol.Status, string) {
	c.T.Helper()
	testenv.Rewrite(c.T, path, old, new)
	from := c.Mark()
	c.Save(path)
	st := c.AwaitState(from, "", protocol.StateRunning)
	body, err := testenv.Get(url + "fresh/")
	if err != nil {
		c.T.Fatalf("after editing %s: GET /fresh/: %v %s", filepath.Base(path), err, body)
	}
	return st, body
}

// editView sets the fresh view's VIEW to value, and returns what edit
// does.
func editView(c *fakeeditor.Env, url, views, value string) (protocol.Status, string) {
	c.T.Helper()
	b, err := os.ReadFile(views)
	if err != nil {
		c.T.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "\nVIEW = '")
	old, _, _ := strings.Cut(rest, "'")
	return edit(c, url, views, "VIEW = '"+old+"'", "VIEW = '"+value+"'")
}

// warmUp reloads until one reload is warm (the preloaders are built once
// the server serves, and a reload before they are ready starts cold), then
// waits for a preloader that set Django up ahead, reported since the
// message from.
func warmUp(c *fakeeditor.Env, url, views string, from int) {
	c.T.Helper()
	defer awaitSetUp(c, from)
	deadline := time.Now().Add(fakeeditor.AwaitTimeout)
	for i := 0; ; i++ {
		st, _ := editView(c, url, views, fmt.Sprintf("warm-up%d", i))
		if st.Start == protocol.StartWarm {
			return
		}
		if time.Now().After(deadline) {
			c.T.Fatalf("no reload was warm within %s; the last was %s: %s", fakeeditor.AwaitTimeout, st.Start, st.ColdReason)
		}
	}
}

// setUpAhead is the backend's log line for a ready preloader of the second
// level.
const setUpAhead = "set Django up ahead:"

// awaitSetUp waits for a preloader that set Django up ahead, reported
// since the message from.
func awaitSetUp(c *fakeeditor.Env, from int) {
	c.T.Helper()
	if err := c.Editor.Await(fakeeditor.AwaitTimeout, from, fakeeditor.TextContains(protocol.MethodLogMessage, setUpAhead)); err != nil {
		c.T.Fatal(err)
	}
}

// warmServer serves preloadProject on the system's Django with preloading
// on, and returns once a reload was warm: the editor, the project, the
// server's URL, and what the first, cold, process served at /fresh/.
func warmServer(t *testing.T) (c *fakeeditor.Env, dir, url, cold string) {
	t.Helper()
	dir, vendor := preloadProject(t)
	c = fakeeditor.New(t, Serve)
	c.Initialize(preloadSettings(testenv.Django{Python: testenv.Python(t)}, testenv.FreePort(t), vendor), dir)
	url = c.StartRunning("").URL
	cold, err := testenv.Get(url + "fresh/")
	if err != nil {
		t.Fatalf("GET /fresh/: %v %s", err, cold)
	}
	warmUp(c, url, filepath.Join(dir, "polls", "views.py"), 0)
	return c, dir, url, cold
}

// wantStart fails the test unless st started as want; a cold start must
// give a reason that contains why.
func wantStart(t *testing.T, what string, st protocol.Status, want protocol.StartKind, why string) {
	t.Helper()
	if st.Start != want || want == protocol.StartCold && !strings.Contains(st.ColdReason, why) {
		t.Errorf("%s: the reload started %q (%s), want %s (%s)", what, st.Start, st.ColdReason, want, why)
	}
}

// wantSetUpAhead fails the test unless the status says what the view saw:
// Django set up "ahead", in the preloader, or "here".
func wantSetUpAhead(t *testing.T, what string, st protocol.Status, setup string) {
	t.Helper()
	if st.SetUpAhead != (setup == "ahead") {
		t.Errorf("%s: the status says setUpAhead=%v, but the view saw Django set up %s", what, st.SetUpAhead, setup)
	}
}

func wantBody(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s: /fresh/ served %q, missing %q", what, body, w)
		}
	}
}

// TestPreloadServesFreshCode edits each kind of code a reload must load
// afresh, on every Django release: a project edit is served warm, with the
// new behaviour, from Django set up ahead unless the edit is to what the
// set-up loads (models, settings, app configs); a change to what the
// preloaders imported (the venv) or to the environment is served cold, with
// the new behaviour, and says why.
func TestPreloadServesFreshCode(t *testing.T) {
	djangoRunserver.onEachDjango(t, servesFreshCode)
}

// TestPreloadServesFreshCodeUnderDaphne: the same edits, in the same
// project run as a Channels project, under Daphne's runserver, whose
// Twisted reactor the preloaders keep out.
func TestPreloadServesFreshCodeUnderDaphne(t *testing.T) {
	daphneRunserver.onEachDjango(t, servesFreshCode)
}

// servesFreshCode runs TestPreloadServesFreshCode's edits on Django d,
// with the project under runserver rs.
func servesFreshCode(t *testing.T, d testenv.Django, rs projectRunserver) {
	dir, vendor := preloadProject(t)
	rs.prepare(t, d, dir)
	c := fakeeditor.New(t, Serve)
	c.Initialize(preloadSettings(d, testenv.FreePort(t), vendor), dir)
	running := rs.start(c)
	url := running.URL
	if running.Start != protocol.StartCold {
		t.Errorf("a first start is %q, want cold", running.Start)
	}
	views := filepath.Join(dir, "polls", "views.py")
	warmUp(c, url, views, 0)

	st, body := editView(c, url, views, "edited")
	wantStart(t, "a view", st, protocol.StartWarm, "")
	wantBody(t, "a view", body, "view=edited", "setup=ahead")
	wantSetUpAhead(t, "a view", st, "ahead")

	for _, e := range []struct{ what, file, old, new, want, setup string }{
		{"a model gaining a field", filepath.Join(dir, "polls", "models.py"), "    published =", "    extra = models.IntegerField(default=0)\n    published =", "fields=extra,id,published,text", "here"},
		{"settings.py", filepath.Join(dir, "mysite", "settings.py"), "settings1", "settings2", "setting=settings2", "here"},
		{"apps.py", filepath.Join(dir, "polls", "apps.py"), "apps1", "apps2", "apps=apps2", "here"},
		{"a local package", filepath.Join(dir, "localpkg", "mod.py"), "local1", "local2", "local=local2", "ahead"},
	} {
		from := c.Mark()
		st, body = edit(c, url, e.file, e.old, e.new)
		wantStart(t, e.what, st, protocol.StartWarm, "")
		wantBody(t, e.what, body, e.want, "setup="+e.setup)
		wantSetUpAhead(t, e.what, st, e.setup)
		if e.setup == "here" {
			awaitSetUp(c, from) // rebuilt from what the reload loaded
		}
	}

	// Neither the venv nor the environment file is Python the server
	// watches: each is changed, then a view edit reloads.
	vendorInit := filepath.Join(vendor, "vendorpkg", "__init__.py")
	from := c.Mark()
	testenv.Rewrite(t, vendorInit, "vendor1", "vendor2-upgraded")
	st, body = editView(c, url, views, "after-venv")
	wantStart(t, "a venv package", st, protocol.StartCold, vendorInit+" changed since the preloader imported it")
	wantBody(t, "a venv package", body, "vendor=vendor2-upgraded", "view=after-venv")

	warmUp(c, url, views, from) // the preloaders are rebuilt with the new package
	testenv.Rewrite(t, filepath.Join(dir, ".env"), "env1", "env2")
	st, body = editView(c, url, views, "after-env")
	wantStart(t, "the environment file", st, protocol.StartCold, "environment")
	wantBody(t, "the environment file", body, "env=env2", "view=after-env")
	if st.Runserver == nil || st.Runserver.Server != rs.server {
		t.Errorf("after the reloads the server runs %+v, want %s's runserver", st.Runserver, rs.server)
	}
}

// TestPreloadReportsModelChecks: the preloader that sets Django up runs
// the model checks once, and each server forked from it reports their
// messages as a cold start does: a model's warning is in the output of a
// warm start, as of the cold one.
func TestPreloadReportsModelChecks(t *testing.T) {
	dir, vendor := preloadProject(t)
	testenv.Rewrite(t, filepath.Join(dir, "polls", "models.py"), "    published =", "    related = models.ManyToManyField('self', null=True)\n    published =")
	const warning = "polls.Question.related: (fields.W340) null has no effect on ManyToManyField."
	c := fakeeditor.New(t, Serve)
	c.Initialize(preloadSettings(testenv.Django{Python: testenv.Python(t)}, testenv.FreePort(t), vendor), dir)
	url := c.StartRunning("").URL
	if err := c.Editor.Await(fakeeditor.AwaitTimeout, 0, fakeeditor.LogContains(warning)); err != nil {
		t.Fatalf("a cold start: %v", err)
	}
	views := filepath.Join(dir, "polls", "views.py")
	warmUp(c, url, views, 0)
	for i := range 2 {
		from := c.Mark()
		st, body := editView(c, url, views, fmt.Sprintf("checked%d", i))
		wantStart(t, "a view", st, protocol.StartWarm, "")
		wantBody(t, "a view", body, "setup=ahead")
		if err := c.Editor.Await(fakeeditor.AwaitTimeout, from, fakeeditor.LogContains(warning)); err != nil {
			t.Errorf("warm start %d: %v", i+1, err)
		}
	}
}

// TestSettingsWhoseFileIsOverwritten: settings that end as graphite-web's
// do, with globals().update(import_module('local_settings').__dict__),
// take the other module's __file__ and __spec__. An edit of the real
// settings file still reloads, warm, and the new value is served, not the
// one Django was set up with ahead.
func TestSettingsWhoseFileIsOverwritten(t *testing.T) {
	dir, vendor := preloadProject(t)
	settings := filepath.Join(dir, "mysite", "settings.py")
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	overwrite := "\nfrom importlib import import_module\nglobals().update(import_module('local_settings').__dict__)\n"
	if err := os.WriteFile(settings, append(b, overwrite...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "local_settings.py"), []byte("LOCAL_MARK = 'local'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := fakeeditor.New(t, Serve)
	c.Initialize(preloadSettings(testenv.Django{Python: testenv.Python(t)}, testenv.FreePort(t), vendor), dir)
	url := c.StartRunning("").URL
	warmUp(c, url, filepath.Join(dir, "polls", "views.py"), 0)

	st, body := edit(c, url, settings, "settings1", "settings2")
	wantStart(t, "the settings", st, protocol.StartWarm, "")
	wantBody(t, "the settings", body, "setting=settings2", "setup=here")
}

// TestPreloadKeepsTheSecondLevel: a second level that is ready before the
// first (here the first imports slowly; on a loaded machine the two
// race) is kept when the first becomes ready, so the next view edit still
// skips the set-up. Replacing it left that edit to fork from the first
// level, Django set up in the server.
func TestPreloadKeepsTheSecondLevel(t *testing.T) {
	dir, vendor := preloadProject(t)
	// Slow only in the first level's preloader, whose last argument names
	// its level.
	if err := os.WriteFile(filepath.Join(vendor, "vendorpkg", "__init__.py"), []byte(`import time
with open('/proc/self/cmdline', 'rb') as f:
    if f.read().split(b'\0')[-2:-1] == [b'modules']:
        time.sleep(3)
VALUE = 'vendor1'
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := fakeeditor.New(t, Serve)
	c.Initialize(preloadSettings(testenv.Django{Python: testenv.Python(t)}, testenv.FreePort(t), vendor), dir)
	url := c.StartRunning("").URL
	views := filepath.Join(dir, "polls", "views.py")
	warmUp(c, url, views, 0)
	if err := c.Editor.Await(fakeeditor.AwaitTimeout, 0, fakeeditor.TextContains(protocol.MethodLogMessage, "Python reloads start warm")); err != nil {
		t.Fatalf("the first level: %v", err)
	}
	st, body := editView(c, url, views, "kept")
	wantStart(t, "a view after the first level was ready", st, protocol.StartWarm, "")
	wantBody(t, "a view after the first level was ready", body, "setup=ahead")
}

// TestPreloadForkSafety: two successive warm children draw different random
// numbers, and neither holds a unix socket a cold start does not (the
// preloader's control connection) or a database connection.
func TestPreloadForkSafety(t *testing.T) {
	c, dir, url, cold := warmServer(t)
	views := filepath.Join(dir, "polls", "views.py")
	_, inherited, _ := strings.Cut(cold, "unix=")
	inherited = "unix=" + inherited
	if !strings.HasSuffix(inherited, "db=False") {
		t.Fatalf("a cold start has the database open before any query: %s", cold)
	}
	var randoms []string
	for i := range 2 {
		st, body := editView(c, url, views, fmt.Sprintf("safe%d", i))
		wantStart(t, "a view", st, protocol.StartWarm, "")
		wantBody(t, "a warm child, beside a cold one", body, inherited)
		_, r, _ := strings.Cut(body, "random=")
		randoms = append(randoms, strings.Fields(r)[0])
	}
	if randoms[0] == randoms[1] {
		t.Errorf("two warm children drew the same first random number %s: random was not reseeded", randoms[0])
	}
}

// TestPreloadRefusesAThread: a module that starts a thread when imported
// makes the preloader unsafe to fork, so every reload starts cold and says
// why.
func TestPreloadRefusesAThread(t *testing.T) {
	d := testenv.Django{Python: testenv.Python(t)}
	dir, vendor := preloadProject(t)
	if err := os.WriteFile(filepath.Join(vendor, "vendorpkg", "__init__.py"), []byte(
		"import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\nVALUE = 'threaded'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := fakeeditor.New(t, Serve)
	c.Initialize(preloadSettings(d, testenv.FreePort(t), vendor), dir)
	url := c.StartRunning("").URL
	views := filepath.Join(dir, "polls", "views.py")
	deadline := time.Now().Add(fakeeditor.AwaitTimeout)
	for i := 0; ; i++ {
		st, body := editView(c, url, views, fmt.Sprintf("t%d", i))
		wantBody(t, "a reload", body, "vendor=threaded")
		if st.Start == protocol.StartWarm {
			t.Fatal("a reload forked from a preloader that runs a second thread")
		}
		if strings.Contains(st.ColdReason, "started a thread") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload said the preloader has a thread; the last: %s", st.ColdReason)
		}
	}
}

// preloaders are the preloaders of the folder dir among this process's
// children, but server: a warm server is their fork, the backend's child
// too, and its command line is theirs.
func preloaders(dir string, server int) []int {
	var found []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if pid != server && len(fields) > 1 && fields[0] != "Z" && fields[1] == strconv.Itoa(os.Getpid()) &&
			strings.Contains(string(cmdline), "/preload") && strings.Contains(string(cmdline), dir) {
			found = append(found, pid)
		}
	}
	return found
}

// TestPreloaderFailures: preloaders that were killed, or that hang, give
// a cold reload that says so, never a failed server; the next preloaders
// serve warm again.
func TestPreloaderFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal syscall.Signal
		why    string
	}{
		{"killed", syscall.SIGKILL, "the preloader exited"},
		{"hung", syscall.SIGSTOP, "the preloader did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, dir, url, _ := warmServer(t)
			views := filepath.Join(dir, "polls", "views.py")
			pids := preloaders(dir, c.Status("").PID)
			if len(pids) != 2 {
				t.Fatalf("want a preloader of each level for %s, found %v", dir, pids)
			}
			for _, pid := range pids {
				if err := syscall.Kill(pid, tc.signal); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			}
			from := c.Mark()
			st, body := editView(c, url, views, "after-preloader-"+tc.name)
			wantStart(t, "a reload after the preloaders were "+tc.name, st, protocol.StartCold, tc.why)
			wantBody(t, "a reload after the preloaders were "+tc.name, body, "view=after-preloader-"+tc.name)
			warmUp(c, url, views, from)
			for _, pid := range pids {
				testenv.Eventually(t, 10*time.Second, "the "+tc.name+" preloaders to be gone", func() bool { return testenv.ProcessGone(pid) })
			}
		})
	}
}

// TestPreloadSyntaxErrorRecovers: a SyntaxError in a warm child is a
// diagnostic at its line, and the fix is served warm.
func TestPreloadSyntaxErrorRecovers(t *testing.T) {
	c, dir, url, _ := warmServer(t)
	views := filepath.Join(dir, "polls", "views.py")

	testenv.Rewrite(t, views, "def hello(request):", "def hello(request:")
	from := c.Mark()
	c.Save(views)
	failed := c.AwaitState(from, "", protocol.StateFailed)
	if failed.Start != protocol.StartWarm {
		t.Errorf("the broken reload started %q (%s), want warm", failed.Start, failed.ColdReason)
	}
	if failed.Error == nil || failed.Error.Exception != "SyntaxError" || failed.Error.File != views {
		t.Fatalf("error = %+v, want a SyntaxError in views.py", failed.Error)
	}
	c.AwaitDiagnostics(fileuri.FromPath(views), "a SyntaxError", func(ds []protocol.Diagnostic) bool {
		return len(ds) == 1 && strings.Contains(ds[0].Message, "SyntaxError")
	})
	st, body := edit(c, url, views, "def hello(request:", "def hello(request):")
	wantStart(t, "the fix", st, protocol.StartWarm, "")
	wantBody(t, "the fix", body, "view=")
	c.AwaitDiagnostics(fileuri.FromPath(views), "cleared", func(ds []protocol.Diagnostic) bool { return len(ds) == 0 })
}

// TestPreloadOff: with preload off every reload starts cold, and the
// status says so and why.
func TestPreloadOff(t *testing.T) {
	d := testenv.Django{Python: testenv.Python(t)}
	dir, vendor := preloadProject(t)
	c := fakeeditor.New(t, Serve)
	c.Initialize(preloadSettings(d, testenv.FreePort(t), vendor, "preload", "off"), dir)
	url := c.StartRunning("").URL
	views := filepath.Join(dir, "polls", "views.py")
	for i := range 2 {
		st, body := editView(c, url, views, fmt.Sprintf("off%d", i))
		wantStart(t, "a reload with preload off", st, protocol.StartCold, "preloading is off")
		wantBody(t, "a reload", body, fmt.Sprintf("view=off%d", i))
	}
	if found := preloaders(dir, 0); len(found) > 0 {
		t.Errorf("with preload off, preloaders run: %v", found)
	}
}
