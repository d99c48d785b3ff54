// Package corpus makes runnable copies of the real projects no one here
// wrote, from Debian bookworm: Mailman 3's web UI and graphite-web, which
// fetch.sh unpacks (`make corpus`). The corpus tests
// (server/internal/testenv wraps it for them) and the benchmark both serve
// these copies.
package corpus

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// packages names the Debian packages of the corpus and their versions;
// fetch.sh reads it too.
//
//go:embed packages.txt
var packages string

// DirEnv names the folder fetch.sh filled (`make corpus`). When it is set,
// as `make test` sets it, a project that is missing or does not import is
// an error to report; when it is not, the callers look in .cache/corpus at
// the repository root and leave out what is not there.
const DirEnv = "DJANGO_RUNSERVER_CORPUS"

// Python is the interpreter the corpus runs on: Debian's, whose
// dist-packages hold the apps the projects import, with Django 3.2.
const Python = "/usr/bin/python3"

// Cache is the folder fetch.sh filled: $DJANGO_RUNSERVER_CORPUS, else
// .cache/corpus under root, the repository's root. required says which:
// only a folder named in the environment must hold the corpus.
func Cache(root string) (dir string, required bool) {
	if dir, ok := os.LookupEnv(DirEnv); ok {
		return dir, true
	}
	return filepath.Join(root, ".cache", "corpus"), false
}

// ErrMissing is wrapped by the errors that say a project is not there to
// run: not unpacked, or what it imports is not installed. `make corpus`
// fixes both.
var ErrMissing = errors.New("`make corpus` installs it")

// Project is a real project, from its Debian package, copied into a
// folder of its own and ready to serve: its packaged settings kept (the
// file log included), with everything the server writes (the SQLite
// database, log files, search index) moved to Var by the project's own
// local settings file, and the database migrated.
type Project struct {
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
	// DjangoLog is the file the packaged logging sends Django's own
	// messages to, not the console; "" when it leaves them on the console.
	DjangoLog string
}

// Mailman is Mailman 3's web UI (Debian's mailman3-web: postorius,
// hyperkitty, allauth, DRF, haystack, django_q, compressor), copied from
// the cache into dest, which must not exist yet: the packaged
// /usr/share/mailman3-web, with settings_local.py made from the package's
// sample as its postinst makes /etc/mailman3/mailman-web.py, then told
// where to write, DEBUG on as in development, and a templates folder in
// which the project overrides hyperkitty's index page
// (templates/hyperkitty/index.html), as a site customizes its look.
func Mailman(cache, dest string) (Project, error) {
	c, unpacked, err := start(cache, dest, "mailman3-web", "import hyperkitty, postorius, whoosh")
	if err != nil {
		return c, err
	}
	src := filepath.Join(unpacked, "usr", "share", "mailman3-web")
	c.DjangoLog = filepath.Join(c.Var, "mailman-web.log")
	if err := copyTree(src, c.Dir); err != nil {
		return c, err
	}
	sample, err := os.ReadFile(filepath.Join(src, "settings_local.py.sample"))
	if err != nil {
		return c, err
	}
	local := string(sample) + fmt.Sprintf(`

# A development server, writing into %[1]s. settings.py imports this file
# last, so its LOGGING and TEMPLATES are there to change.
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
`, c.Var, filepath.Join(c.Var, "mailman3web.db"), c.DjangoLog,
		filepath.Join(c.Dir, "templates"), filepath.Join(c.Var, "static"), filepath.Join(c.Var, "fulltext_index"))
	if err := os.WriteFile(filepath.Join(c.Dir, "settings_local.py"), []byte(local), 0o644); err != nil {
		return c, err
	}
	hyperkitty, err := c.run("-c", "import hyperkitty, os; print(os.path.dirname(hyperkitty.__file__))")
	if err != nil {
		return c, err
	}
	index := filepath.Join("templates", "hyperkitty", "index.html")
	if err := copyFile(filepath.Join(strings.TrimSpace(hyperkitty), index), filepath.Join(c.Dir, index)); err != nil {
		return c, err
	}
	return c, c.migrate(unpacked, "mailman3web.db")
}

// Graphite is graphite-web 1.1.8, Graphite's web UI (Debian's
// graphite-web), copied from the cache into dest, which must not exist
// yet: the graphite package as the project's own code, manage.py from
// /usr/bin/graphite-manage, and local_settings.py from /etc/graphite,
// beside manage.py where graphite/settings.py imports it, then told where
// to write, with DEBUG on. Its settings end with
// globals().update(import_module('local_settings').__dict__), which
// overwrites graphite.settings's __file__ and __spec__.
func Graphite(cache, dest string) (Project, error) {
	c, unpacked, err := start(cache, dest, "graphite-web", "import tagging, whisper, cairocffi")
	if err != nil {
		return c, err
	}
	if err := copyTree(filepath.Join(unpacked, "usr", "lib", "python3", "dist-packages", "graphite"), filepath.Join(c.Dir, "graphite")); err != nil {
		return c, err
	}
	if err := copyFile(filepath.Join(unpacked, "usr", "bin", "graphite-manage"), filepath.Join(c.Dir, "manage.py")); err != nil {
		return c, err
	}
	packaged, err := os.ReadFile(filepath.Join(unpacked, "etc", "graphite", "local_settings.py"))
	if err != nil {
		return c, err
	}
	local := string(packaged) + fmt.Sprintf(`

# A development server, writing into %[1]s.
DEBUG = True
STORAGE_DIR = %[1]q
LOG_DIR = %[2]q
INDEX_FILE = %[3]q
WHISPER_DIR = %[4]q
DATABASES['default']['NAME'] = %[5]q
`, c.Var, filepath.Join(c.Var, "log"), filepath.Join(c.Var, "search_index"), filepath.Join(c.Var, "whisper"), filepath.Join(c.Var, "graphite.db"))
	if err := os.WriteFile(filepath.Join(c.Dir, "local_settings.py"), []byte(local), 0o644); err != nil {
		return c, err
	}
	// The folders the package ships, where graphite's logger opens its files.
	for _, d := range []string{"log", "whisper"} {
		if err := os.MkdirAll(filepath.Join(c.Var, d), 0o755); err != nil {
			return c, err
		}
	}
	return c, c.migrate(unpacked, "graphite.db")
}

// start finds the unpacked package, checks that Debian's Python imports
// what the project needs (imports, a statement), and returns the project's
// folders under dest, created empty, and the unpacked package.
func start(cache, dest, pkg, imports string) (Project, string, error) {
	version := version(pkg)
	unpacked := filepath.Join(cache, pkg+"-"+version)
	if _, err := os.Stat(filepath.Join(unpacked, "PACKAGES")); err != nil {
		return Project{}, "", fmt.Errorf("%s %s is not unpacked in %s: %w", pkg, version, cache, ErrMissing)
	}
	if out, err := exec.Command(Python, "-c", imports+"; import django; print(django.get_version())").CombinedOutput(); err != nil {
		return Project{}, "", fmt.Errorf("%s can't run %s (%q: %v): %w\n%s", Python, pkg, imports, err, ErrMissing, out)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return Project{}, "", err
	}
	real, err := filepath.EvalSymlinks(dest)
	if err != nil {
		return Project{}, "", err
	}
	c := Project{Package: pkg, Version: version, Dir: filepath.Join(real, pkg), Var: filepath.Join(real, "var"), Python: Python}
	for _, d := range []string{c.Dir, c.Var} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return c, "", fmt.Errorf("a corpus project needs a folder of its own: %w", err)
		}
	}
	django, err := c.run("-c", "import django; print(django.get_version())")
	c.Django = strings.TrimSpace(django)
	return c, unpacked, err
}

// version is pkg's version in packages.txt.
func version(pkg string) string {
	for _, line := range strings.Split(packages, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == pkg {
			return f[1]
		}
	}
	panic("corpus: " + pkg + " is not in packages.txt")
}

// migrate gives the project its migrated database, Var/name: a copy of the
// one migrated before for this package and Django release, kept in the
// unpacked package's folder, or migrated now (tens of seconds on Mailman)
// and kept.
func (c Project) migrate(unpacked, name string) error {
	db := filepath.Join(c.Var, name)
	kept := filepath.Join(unpacked, "migrated", "django-"+c.Django+"-"+name)
	if copyFile(kept, db) == nil {
		return nil
	}
	if _, err := c.run("manage.py", "migrate", "--noinput", "--verbosity", "0"); err != nil {
		return err
	}
	// Another process may migrate at once: each writes its own file and
	// renames it into place.
	tmp := fmt.Sprintf("%s.%d", kept, os.Getpid())
	if err := copyFile(db, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, kept)
}

// run runs Python with args in the project and returns its output.
func (c Project) run(args ...string) (string, error) {
	cmd := exec.Command(c.Python, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s in %s: %v\n%s", c.Python, strings.Join(args, " "), c.Dir, err, out)
	}
	return string(out), nil
}

// CopyTree copies the folder src to dst, but for bytecode caches, SQLite
// databases and symbolic links (a packaged project's link into /etc): a
// project as its author would check it out.
func CopyTree(src, dst string) error { return copyTree(src, dst) }

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.Name() == "__pycache__" || d.Name() == "db.sqlite3" || d.Type()&fs.ModeSymlink != 0 {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
