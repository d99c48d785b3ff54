package testenv

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// versionsFile names the Django releases fetched beside the system's, and
// the Debian suites that carry them; djangos/fetch.sh reads it too.
//
//go:embed djangos/versions.txt
var versionsFile string

// DjangosDirEnv names the folder djangos/fetch.sh filled (`make djangos`).
// When it is set, as `make test` sets it, a release missing from it fails
// the tests; when it is not, the tests look in .cache/djangos at the
// repository root and skip a release that is not there.
const DjangosDirEnv = "DJANGO_RUNSERVER_DJANGOS"

// Django is one Django release the tests run on.
type Django struct {
	// Version is the release, "X.Y", as the subtests are named.
	Version string
	// Python is the interpreter to run.
	Python string
	// Env is what to add to the environment (PYTHONPATH for a fetched
	// release), in the shape of the `env` setting.
	Env map[string]string
}

// AtLeast reports whether d is release major.minor or later.
func (d Django) AtLeast(major, minor int) bool {
	var x, y int
	if _, err := fmt.Sscanf(d.Version, "%d.%d", &x, &y); err != nil {
		return false
	}
	return x > major || x == major && y >= minor
}

// Environ is the process environment with d.Env added, for exec.Cmd.Env.
func (d Django) Environ() []string {
	env := os.Environ()
	for k, v := range d.Env {
		env = append(env, k+"="+v)
	}
	return env
}

// Reported runs d's interpreter and returns django.get_version().
func (d Django) Reported(t testing.TB) string {
	t.Helper()
	cmd := exec.Command(d.Python, "-c", "import django; print(django.get_version())")
	cmd.Env = d.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("Django %s does not import: %v\n%s", d.Version, err, out)
	}
	return strings.TrimSpace(string(out))
}

// RunDjangos runs f in a subtest per Django release: the system's (the
// interpreter Python finds) and each fetched one. A fetched release that is
// missing fails the subtest under `make test` and skips it elsewhere.
func RunDjangos(t *testing.T, f func(t *testing.T, d Django)) {
	t.Helper()
	system := Django{Python: Python(t)}
	reported := system.Reported(t)
	system.Version = minor(reported)
	t.Run(system.Version, func(t *testing.T) {
		t.Logf("Django %s: %s", reported, system.Python)
		f(t, system)
	})

	dir, required := os.LookupEnv(DjangosDirEnv)
	if !required {
		dir = filepath.Join(Root(), ".cache", "djangos")
	}
	for _, line := range strings.Split(versionsFile, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		version := fields[0]
		t.Run(version, func(t *testing.T) {
			site := filepath.Join(dir, "django-"+version, "usr", "lib", "python3", "dist-packages")
			if _, err := os.Stat(filepath.Join(site, "django", "__init__.py")); err != nil {
				const why = "Django %s is not in %s: `make djangos` fetches it"
				if required {
					t.Fatalf(why, version, dir)
				}
				t.Skipf("skipped: "+why+"; `make test` does, and fails without it", version, dir)
			}
			d := Django{Version: version, Python: system.Python, Env: map[string]string{"PYTHONPATH": site}}
			reported := d.Reported(t)
			if minor(reported) != version {
				t.Fatalf("%s holds Django %s, not %s: remove it and run `make djangos`", site, reported, version)
			}
			t.Logf("Django %s: %s with PYTHONPATH=%s", reported, d.Python, site)
			f(t, d)
		})
	}
}

// minor is "X.Y" of a version "X.Y.Z".
func minor(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return version
	}
	return parts[0] + "." + parts[1]
}
