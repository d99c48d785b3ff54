package session

import (
	"path/filepath"
	"testing"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// projectRunserver is whose runserver a copy of mysite runs, for a test
// whose cases run under Django's runserver and under Daphne's.
type projectRunserver struct {
	server protocol.ServerKind
	// adopt makes the copy of mysite at dir run it; nil for Django's,
	// which mysite runs as it is.
	adopt func(t *testing.T, d testenv.Django, dir string)
}

var (
	djangoRunserver = projectRunserver{server: protocol.ServerDjango}
	daphneRunserver = projectRunserver{server: protocol.ServerDaphne, adopt: underDaphne}
)

// underDaphne makes mysite at dir a Channels project as Django's docs set
// one up: "daphne" first in INSTALLED_APPS, whose runserver then serves
// ASGI_APPLICATION, mysite's asgi.py.
func underDaphne(t *testing.T, d testenv.Django, dir string) {
	t.Helper()
	testenv.NeedDaphne(t, d)
	testenv.Rewrite(t, filepath.Join(dir, "mysite", "settings.py"), "INSTALLED_APPS = [",
		"ASGI_APPLICATION = 'mysite.asgi.application'\n\nINSTALLED_APPS = [\n    'daphne',")
}

// prepare makes the copy of mysite at dir run r's runserver.
func (r projectRunserver) prepare(t *testing.T, d testenv.Django, dir string) {
	t.Helper()
	if r.adopt != nil {
		r.adopt(t, d, dir)
	}
}

// start starts the server and returns its status once it runs r's
// runserver, as the status says: the runserver it names comes with the
// process's first words, which may follow its first running status.
func (r projectRunserver) start(c *fakeeditor.Env) protocol.Status {
	c.T.Helper()
	from := c.Mark()
	c.Start("")
	st := c.AwaitStatusWithin(fakeeditor.AwaitTimeout, from, "", "a running server that names its runserver", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.Runserver != nil
	})
	if st.Runserver.Server != r.server {
		c.T.Fatalf("the server runs %+v, want %s's runserver", st.Runserver, r.server)
	}
	return st
}

// onEachDjango runs f in a subtest per Django release, with the project
// under r.
func (r projectRunserver) onEachDjango(t *testing.T, f func(t *testing.T, d testenv.Django, r projectRunserver)) {
	t.Helper()
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) { f(t, d, r) })
}
