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

// corpusPackages names the Debian packages of the corpus and their
// versions; corpus/fetch.sh reads it too.
//
//go:embed corpus/packages.txt
var corpusPackages string

// CorpusDirEnv names the folder corpus/fetch.sh filled (`make corpus`).
// When it is set, as `make test` sets it, a corpus project that is missing
// or does not import fails the tests; when it is not, the tests look in
// .cache/corpus at the repository root and skip what is not there.
const CorpusDirEnv = "DJANGO_RUNSERVER_CORPUS"

// corpusPython is the interpreter the corpus runs on: Debian's, whose
// dist-packages hold the apps the projects import, with Django 3.2.
const corpusPython = "/usr/bin/python3"

// Corpus is a real project, from its Debian package, copied into a test's
// temporary folder and ready to serve: its packaged settings kept (the file
// log included), with everything the server writes (the SQLite database,
// log files, search index) moved to Var by the project's own local
// settings file, and the database migrated.
type Corpus struct {
	// Package and Version are the Debian package's.
	Package, Version string
	// Dir is the project, manage.py's folder: the workspace to open.
	Dir string
	// Var holds what the server writes, outside Dir.
	Var string
	// Python is the interpreter to run.
	Python string
	// Django is the release Python imports, "X.Y.Z".
	Django string
}

// Mailman is Mailman 3's web UI (Debian's mailman3-web: postorius,
// hyperkitty, allauth, DRF, haystack, django_q, compressor): the packaged
// /usr/share/mailman3-web, with settings_local.py made from the package's
// sample as its postinst makes /etc/mailman3/mailman-web.py, then told
// where to write, DEBUG on as in development, and a templates folder in
// which the project overrides hyperkitty's index page
// (templates/hyperkitty/index.html), as a site customizes its look.
func Mailman(t testing.TB) Corpus {
	t.Helper()
	c, unpacked := corpusCopy(t, "mailman3-web", "import hyperkitty, postorius, whoosh")
	src := filepath.Join(unpacked, "usr", "share", "mailman3-web")
	must(t, copyTree(src, c.Dir))
	sample, err := os.ReadFile(filepath.Join(src, "settings_local.py.sample"))
	must(t, err)
	local := string(sample) + fmt.Sprintf(`

# The tests: a development server, writing into %[1]s. settings.py imports
# this file last, so its LOGGING and TEMPLATES are there to change.
from settings import LOGGING as _LOGGING, TEMPLATES as _TEMPLATES
DEBUG = True
DATABASES['default']['NAME'] = %[2]q
_LOGGING['handlers']['file']['filename'] = %[3]q
_TEMPLATES[0]['DIRS'] = [%[4]q]
STATIC_ROOT = %[5]q
HAYSTACK_CONNECTIONS = {
    'default': {
        'ENGINE': 'haystack.backends.whoosh_backend.WhooshEngine',
        'PATH': %[6]q,
    },
}
`, c.Var, filepath.Join(c.Var, "mailman3web.db"), filepath.Join(c.Var, "mailman-web.log"),
		filepath.Join(c.Dir, "templates"), filepath.Join(c.Var, "static"), filepath.Join(c.Var, "fulltext_index"))
	must(t, os.WriteFile(filepath.Join(c.Dir, "settings_local.py"), []byte(local), 0o644))
	hyperkitty := strings.TrimSpace(c.run(t, "-c", "import hyperkitty, os; print(os.path.dirname(hyperkitty.__file__))"))
	must(t, copyFile(filepath.Join(hyperkitty, "templates", "hyperkitty", "index.html"), filepath.Join(c.Dir, "templates", "hyperkitty", "index.html")))
	c.migrate(t, unpacked, "mailman3web.db")
	return c
}

// Graphite is graphite-web 1.1.8, Graphite's web UI (Debian's
// graphite-web): the graphite package as the project's own code, manage.py
// from /usr/bin/graphite-manage, and local_settings.py from
// /etc/graphite, beside manage.py where graphite/settings.py imports it,
// then told where to write, with DEBUG on. Its settings end with
// globals().update(import_module('local_settings').__dict__), which
// overwrites graphite.settings's __file__ and __spec__.
func Graphite(t testing.TB) Corpus {
	t.Helper()
	c, unpacked := corpusCopy(t, "graphite-web", "import tagging, whisper, cairocffi")
	must(t, copyTree(filepath.Join(unpacked, "usr", "lib", "python3", "dist-packages", "graphite"), filepath.Join(c.Dir, "graphite")))
	must(t, copyFile(filepath.Join(unpacked, "usr", "bin", "graphite-manage"), filepath.Join(c.Dir, "manage.py")))
	packaged, err := os.ReadFile(filepath.Join(unpacked, "etc", "graphite", "local_settings.py"))
	must(t, err)
	local := string(packaged) + fmt.Sprintf(`

# The tests: a development server, writing into %[1]s.
DEBUG = True
STORAGE_DIR = %[1]q
LOG_DIR = %[2]q
INDEX_FILE = %[3]q
WHISPER_DIR = %[4]q
DATABASES['default']['NAME'] = %[5]q
`, c.Var, filepath.Join(c.Var, "log"), filepath.Join(c.Var, "search_index"), filepath.Join(c.Var, "whisper"), filepath.Join(c.Var, "graphite.db"))
	must(t, os.WriteFile(filepath.Join(c.Dir, "local_settings.py"), []byte(local), 0o644))
	// The folders the package ships, where graphite's logger opens its files.
	for _, d := range []string{"log", "whisper"} {
		must(t, os.MkdirAll(filepath.Join(c.Var, d), 0o755))
	}
	c.migrate(t, unpacked, "graphite.db")
	return c
}

// corpusCopy finds the unpacked package, checks that Debian's Python
// imports what the project needs (imports, a statement), and returns the
// project's folders, still empty, and the unpacked package.
func corpusCopy(t testing.TB, pkg, imports string) (Corpus, string) {
	t.Helper()
	dir, required := os.LookupEnv(CorpusDirEnv)
	if !required {
		dir = filepath.Join(Root(), ".cache", "corpus")
	}
	missing := func(format string, args ...any) {
		t.Helper()
		why := fmt.Sprintf(format, args...) + ": `make corpus` installs it"
		if required {
			t.Fatal(why)
		}
		t.Skipf("skipped: %s; `make test` does, and fails without it", why)
	}
	version := corpusVersion(pkg)
	unpacked := filepath.Join(dir, pkg+"-"+version)
	if _, err := os.Stat(filepath.Join(unpacked, "PACKAGES")); err != nil {
		missing("%s %s is not unpacked in %s", pkg, version, dir)
	}
	if out, err := exec.Command(corpusPython, "-c", imports+"; import django; print(django.get_version())").CombinedOutput(); err != nil {
		missing("%s can't run %s (%q: %v)\n%s", corpusPython, pkg, imports, err, out)
	}
	root := t.TempDir()
	real, err := filepath.EvalSymlinks(root)
	must(t, err)
	c := Corpus{Package: pkg, Version: version, Dir: filepath.Join(real, pkg), Var: filepath.Join(real, "var"), Python: corpusPython}
	must(t, os.MkdirAll(c.Dir, 0o755))
	must(t, os.MkdirAll(c.Var, 0o755))
	c.Django = strings.TrimSpace(c.run(t, "-c", "import django; print(django.get_version())"))
	return c, unpacked
}

// corpusVersion is pkg's version in packages.txt.
func corpusVersion(pkg string) string {
	for _, line := range strings.Split(corpusPackages, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == pkg {
			return f[1]
		}
	}
	panic("testenv: " + pkg + " is not in corpus/packages.txt")
}

// migrate gives the project its migrated database, Var/name: a copy of the
// one migrated before for this package and Django release, kept in the
// unpacked package's folder, or migrated now (tens of seconds on Mailman)
// and kept.
func (c Corpus) migrate(t testing.TB, unpacked, name string) {
	t.Helper()
	db := filepath.Join(c.Var, name)
	kept := filepath.Join(unpacked, "migrated", "django-"+c.Django+"-"+name)
	if copyFile(kept, db) == nil {
		return
	}
	c.run(t, "manage.py", "migrate", "--noinput", "--verbosity", "0")
	// Another test may migrate at once: each writes its own file and
	// renames it into place.
	tmp := fmt.Sprintf("%s.%d", kept, os.Getpid())
	must(t, copyFile(db, tmp))
	must(t, os.Rename(tmp, kept))
}

// run runs Python with args in the project and returns its output; a
// failure fails the test.
func (c Corpus) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.Python, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", c.Python, strings.Join(args, " "), c.Dir, err, out)
	}
	return string(out)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
