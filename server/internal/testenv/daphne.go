package testenv

import (
	"os/exec"
	"testing"
)

// NeedDaphne fails the test unless d's interpreter imports Daphne's server
// and Channels' routing, what a Channels project runs under Daphne's
// runserver.
func NeedDaphne(t testing.TB, d Django) {
	t.Helper()
	cmd := exec.Command(d.Python, "-c", "import daphne.server, channels.routing")
	cmd.Env = d.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import Daphne and Channels on Django %s (%v): run `make deps`, which installs Debian's python3-daphne and python3-django-channels\n%s", d.Python, d.Version, err, out)
	}
}
