//go:build linux

package session

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// The habits of real projects that a preloader meets, one test each, on
// testdata/habits (HABITS turns each on): level 2 (Django set up ahead) is
// kept where docs/design.md's table says sharing is safe, and otherwise
// the refusal names the module and line that opened the resource.

// habitServer serves testdata/habits with habits on, and preloading, on
// d's Django, with the environment's pairs more, and returns the editor,
// the project and the server's URL.
func habitServer(t *testing.T, d testenv.Django, habits string, more ...string) (c *fakeeditor.Env, dir, url string) {
	t.Helper()
	dir = testenv.Project(t, "habits")
	s := onDjango(d, testenv.FreePort(t))
	env := s["env"].(map[string]any)
	path := filepath.Join(dir, "site-packages") // third-party code, as a venv holds it
	if p, ok := env["PYTHONPATH"].(string); ok {
		path += string(os.PathListSeparator) + p
	}
	env["PYTHONPATH"] = path
	env["HABITS"] = habits
	for i := 0; i+1 < len(more); i += 2 {
		env[more[i]] = more[i+1]
	}
	s["preload"] = "auto"
	c = fakeeditor.New(t, Serve)
	c.Initialize(s, dir)
	return c, dir, c.StartRunning("").URL
}

// siteOf is where text first appears in path, as a refusal names the code
// that opened a resource: "FILE, line N", FILE relative to dir.
func siteOf(t *testing.T, dir, path, text string) string {
	t.Helper()
	rel, _ := filepath.Rel(dir, path)
	return fmt.Sprintf("%s, line %d", rel, testenv.LineOf(t, path, text))
}

// awaitLog waits for a log line that contains text, since the message from.
func awaitLog(c *fakeeditor.Env, from int, text string) {
	c.T.Helper()
	if err := c.Editor.Await(fakeeditor.AwaitTimeout, from, fakeeditor.TextContains(protocol.MethodLogMessage, text)); err != nil {
		c.T.Fatal(err)
	}
}

// servedAhead edits the view n times and wants each reload forked from the
// preloader that set Django up, serving the edit, and what each wants.
func servedAhead(t *testing.T, c *fakeeditor.Env, url, views string, n int, want ...string) {
	t.Helper()
	for i := range n {
		value := fmt.Sprintf("ahead%d", i)
		st, body := editView(c, url, views, value)
		wantStart(t, "a view edit", st, protocol.StartWarm, "")
		if !st.SetUpAhead {
			t.Errorf("a view edit: the status does not say it was forked from Django set up ahead: %+v", st)
		}
		wantBody(t, "a view edit", body, append([]string{"view=" + value, "setup=ahead"}, want...)...)
	}
}

// TestHabitLogFile: a log file the settings' LOGGING opens (Mailman 3,
// graphite-web) is opened for appending: level 2 is kept, and each forked
// server's lines land in it.
func TestHabitLogFile(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		c, dir, url := habitServer(t, d, "logfile")
		views := filepath.Join(dir, "habits", "views.py")
		awaitSetUp(c, 0) // built while the first server serves: no reload races the module list
		servedAhead(t, c, url, views, 2)
		b, err := os.ReadFile(filepath.Join(dir, "habits.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"served ahead0 by", "served ahead1 by"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("habits.log lacks %q:\n%s", want, b)
			}
		}
	})
}

// TestHabitWrittenFile: a file the settings open for writing, and write
// to, would be written over by every forked server: level 2 is refused,
// naming the settings' line and what to change; reloads still fork from
// level 1.
func TestHabitWrittenFile(t *testing.T) {
	c, dir, url := habitServer(t, testenv.Django{Python: testenv.Python(t)}, "writefile")
	settings := filepath.Join(dir, "habits", "settings.py")
	awaitLog(c, 0, "cannot set Django up ahead of a reload: "+siteOf(t, dir, settings, "STARTED = open(")+
		" (module habits.settings) keeps "+filepath.Join(dir, "started.txt")+" open for writing")
	awaitLog(c, 0, "Open it for appending (mode 'a'), or on first use.")
	st, body := editView(c, url, filepath.Join(dir, "habits", "views.py"), "edited")
	wantStart(t, "a view edit", st, protocol.StartWarm, "")
	wantBody(t, "a view edit", body, "view=edited", "setup=here")
}

// TestHabitSharedMemory: a multiprocessing.Value made at import (django_q)
// keeps level 2, and each forked server has its own copy, as a cold start
// would: a count one server raised starts over in the next.
func TestHabitSharedMemory(t *testing.T) {
	c, dir, url := habitServer(t, testenv.Django{Python: testenv.Python(t)}, "sharedmem")
	views := filepath.Join(dir, "habits", "views.py")
	awaitSetUp(c, 0) // built while the first server serves: no reload races the module list
	for range 2 {
		servedAhead(t, c, url, views, 1, "counter=1")
		if body, err := testenv.Get(url + "fresh/"); err != nil || !strings.Contains(body, "counter=2") {
			t.Fatalf("a second request to the same server: %v %q, want counter=2", err, body)
		}
	}
}

// TestHabitThread: a module that starts a thread at import can't be
// forked (the child would lack the thread, and the thread may hold a lock):
// every reload starts cold, and says which module's line started it.
func TestHabitThread(t *testing.T) {
	c, dir, url := habitServer(t, testenv.Django{Python: testenv.Python(t)}, "thread")
	where := siteOf(t, dir, filepath.Join(dir, "site-packages", "threadlib.py"), "threading.Thread(") + " (module threadlib) started a thread"
	awaitLog(c, 0, "cannot preload: "+where)
	awaitLog(c, 0, "Start it on first use")
	st, body := editView(c, url, filepath.Join(dir, "habits", "views.py"), "edited")
	wantStart(t, "a view edit", st, protocol.StartCold, where)
	wantBody(t, "a view edit", body, "view=edited")
}

// TestHabitCThread: a thread a C library starts as it loads (OpenBLAS's,
// under numpy, scipy or GDAL) is refused as well, with what the user can
// set for the commonest one.
func TestHabitCThread(t *testing.T) {
	c, dir, url := habitServer(t, testenv.Django{Python: testenv.Python(t)}, "cthread")
	awaitLog(c, 0, "the import of module cthreadlib started a thread from a C library it loads")
	awaitLog(c, 0, "OPENBLAS_NUM_THREADS=1")
	st, body := editView(c, url, filepath.Join(dir, "habits", "views.py"), "edited")
	wantStart(t, "a view edit", st, protocol.StartCold, "started a thread from a C library")
	wantBody(t, "a view edit", body, "view=edited")
}

// TestHabitSocket: a connection the settings open would be one for every
// forked server: level 2 is refused, naming the settings' line and the
// peer, and what to change; reloads still fork from level 1.
func TestHabitSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // holds each connection until the listener closes
		var conns []net.Conn
		for {
			conn, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, conn)
		}
	}()
	peer := ln.Addr().String()
	_, port, _ := net.SplitHostPort(peer)
	c, dir, url := habitServer(t, testenv.Django{Python: testenv.Python(t)}, "socket", "HABIT_SOCKET_PORT", port)
	settings := filepath.Join(dir, "habits", "settings.py")
	awaitLog(c, 0, "cannot set Django up ahead of a reload: "+siteOf(t, dir, settings, "CONNECTION = socket.create_connection(")+
		" (module habits.settings) keeps a socket open (connected to "+peer+")")
	awaitLog(c, 0, "Connect on first use")
	st, body := editView(c, url, filepath.Join(dir, "habits", "views.py"), "edited")
	wantStart(t, "a view edit", st, protocol.StartWarm, "")
	wantBody(t, "a view edit", body, "view=edited", "setup=here")
}

// TestHabitDotEnv: settings that read .env into the environment (what
// django-environ does) keep level 2, and a server forked from it has the
// variables; an edit of .env makes the level stale, so the next reload
// sets Django up itself, with the new value, and the level is rebuilt.
func TestHabitDotEnv(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		c, dir, url := habitServer(t, d, "dotenv")
		views := filepath.Join(dir, "habits", "views.py")
		awaitSetUp(c, 0) // built while the first server serves: no reload races the module list
		servedAhead(t, c, url, views, 1, "env=env1", "setting=env1")

		testenv.Rewrite(t, filepath.Join(dir, ".env"), "env1", "env2")
		from := c.Mark()
		st, body := editView(c, url, views, "after-env")
		wantStart(t, "a view edit after .env", st, protocol.StartWarm, "")
		wantBody(t, "a view edit after .env", body, "setup=here", "env=env2", "setting=env2")
		awaitSetUp(c, from)
		servedAhead(t, c, url, views, 1, "env=env2", "setting=env2")
	})
}

// TestHabitDatabaseInReady: an AppConfig.ready() that queries leaves a
// connection open; the preloader closes it after the set-up, level 2 is
// kept, and a forked server connects on its first query.
func TestHabitDatabaseInReady(t *testing.T) {
	c, dir, url := habitServer(t, testenv.Django{Python: testenv.Python(t)}, "database")
	views := filepath.Join(dir, "habits", "views.py")
	awaitSetUp(c, 0) // built while the first server serves: no reload races the module list
	servedAhead(t, c, url, views, 2, "db=42")
}

// TestPreloadedServerTitle: ps shows a forked server as the command a cold
// start runs, python manage.py runserver ADDRESS, not as the preloader.
func TestPreloadedServerTitle(t *testing.T) {
	c, dir, url, _ := warmServer(t)
	st, _ := editView(c, url, filepath.Join(dir, "polls", "views.py"), "titled")
	wantStart(t, "a view edit", st, protocol.StartWarm, "")
	var args []string
	testenv.Eventually(t, 10*time.Second, "the server's command line", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", st.PID))
		args = strings.FieldsFunc(string(b), func(r rune) bool { return r == 0 })
		return err == nil && len(args) > 0
	})
	want := []string{filepath.Join(dir, "manage.py"), "runserver", strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://")}
	if len(args) != 1+len(want) || strings.Join(args[1:], " ") != strings.Join(want, " ") || !strings.HasPrefix(filepath.Base(args[0]), "python") {
		t.Errorf("a warm server's command line is %q, want python %q", args, want)
	}
}
