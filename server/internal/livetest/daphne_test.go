//go:build unix

package livetest

import (
	"os/exec"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// serveDaphne serves testdata/livesite with Daphne's runserver first in
// INSTALLED_APPS, as Django's docs tell Channels projects, and returns
// once the status says Daphne's runserver runs.
func serveDaphne(t *testing.T, d testenv.Django, extra ...any) *server {
	t.Helper()
	cmd := exec.Command(d.Python, "-c", "import daphne.server")
	cmd.Env = d.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import Daphne (%v): run `make test`, which installs Debian's python3-daphne\n%s", d.Python, err, out)
	}
	s := serveWith(t, d, map[string]string{"LIVESITE_RUNSERVER": "daphne"}, extra...)
	s.st = s.ed.AwaitStatusWithin(30*time.Second, 0, "", "Daphne's runserver said", func(st protocol.Status) bool {
		return st.State == protocol.StateRunning && st.Runserver != nil
	})
	if rs := s.st.Runserver; rs.Server != protocol.ServerDaphne || rs.Command != "daphne.management.commands.runserver" {
		t.Fatalf("status runserver = %+v, want Daphne's", rs)
	}
	return s
}

// Under Daphne, as under runserver's server: a page requested every 10 ms
// through 20 saved Python edits, none failing, and a POST sent while no
// process serves reaching the view once. Daphne serves on the kept socket
// and drains before each reload (asgi.py).
func TestDaphneNoRequestFailsDuringReloads(t *testing.T) {
	testenv.RunDjangos(t, func(t *testing.T, d testenv.Django) {
		s := serveDaphne(t, d)
		if s.st.BrowserReloadNote != "" {
			t.Errorf("running status: note %q; Daphne keeps the address through reloads", s.st.BrowserReloadNote)
		}
		for _, off := range s.st.Runserver.Off {
			if off.Feature == protocol.FeatureKeptSocket {
				t.Errorf("status: the kept socket is off under Daphne: %s", off.Reason)
			}
		}
		reloadUnderRequests(t, s, d)
	})
}
