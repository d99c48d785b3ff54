//go:build linux

package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// site is a Django project in a scratch folder, with the two files the
// benchmark edits.
type site struct {
	dir      string
	settings string // settings.py
	pyFile   string // a view module
	pyPath   string // the URL path of its view
	pyText   func(marker, padding string) string
	tplFile  string // a template rendered by a view ("" when none is edited)
	tplPath  string
	tplText  func(marker, padding string) string
	pyN      int // versions written, so each write differs from the last
	tplN     int
}

// padding grows by one character per version. The file size then always
// changes, so Python never trusts a .pyc written in the same second (its
// check is mtime in whole seconds, and size), and a watcher deduplicating by
// mtime and size always sees a new file.
func padding(n int) string { return strings.Repeat("x", n) }

func (s *site) url(port int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
}

func (s *site) pyEdit(port int) edit {
	return edit{file: s.pyFile, url: s.url(port, s.pyPath), n: &s.pyN, content: func(n int) (string, string) {
		marker := fmt.Sprintf("bench-py-%d", n)
		return s.pyText(marker, padding(n)), marker
	}}
}

func (s *site) tplEdit(port int) edit {
	return edit{file: s.tplFile, url: s.url(port, s.tplPath), n: &s.tplN, content: func(n int) (string, string) {
		marker := fmt.Sprintf("bench-tpl-%d", n)
		return s.tplText(marker, padding(n)), marker
	}}
}

// cachedTemplates makes Django cache compiled templates even with DEBUG on,
// as Django 4.1 and later do by default. Django 3.2 reads a template from
// disk on every request, so without this any server, reloader or not, serves
// a template edit at once, and the measurement would say nothing about
// reloading.
const cachedTemplates = `

# Added by the benchmark: cache templates as Django 4.1+ does in DEBUG, so a
# template edit is served only once a reloader resets the cache.
TEMPLATES[0]['APP_DIRS'] = False
TEMPLATES[0]['OPTIONS']['loaders'] = [('django.template.loaders.cached.Loader', [
    'django.template.loaders.filesystem.Loader',
    'django.template.loaders.app_directories.Loader',
])]
`

// newSampleSite copies testdata/mysite into the scratch folder, as name.
func newSampleSite(cfg *config, name string) (*site, error) {
	dir := filepath.Join(cfg.tmp, name)
	if err := copyTree(filepath.Join(cfg.root, "testdata", "mysite"), dir); err != nil {
		return nil, err
	}
	settings := filepath.Join(dir, "mysite", "settings.py")
	if err := appendFile(settings, cachedTemplates); err != nil {
		return nil, err
	}
	return &site{
		dir:      dir,
		settings: settings,
		pyFile:   filepath.Join(dir, "polls", "views.py"),
		pyPath:   "/hello/",
		pyText: func(marker, pad string) string {
			return `from django.http import HttpResponse
from django.shortcuts import render


def index(request):
    return render(request, 'polls/index.html', {'title': 'Django Runserver sample'})


def hello(request):
    return HttpResponse('` + marker + `')
# ` + pad + "\n"
		},
		tplFile: filepath.Join(dir, "polls", "templates", "polls", "index.html"),
		tplPath: "/",
		tplText: func(marker, pad string) string {
			return `<!doctype html>
<title>{{ title }}</title>
<h1>{{ title }}</h1>
<p>` + marker + `</p>
{# ` + pad + " #}\n"
		},
	}, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(d.Name(), ".sqlite3") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// The heavier project: every django.contrib app this Python can load, and
// generated apps with many models, each registered in the admin, with
// migrations. Its start-up imports and checks far more than mysite.
const (
	heavyApps   = 20
	heavyModels = 20
)

// contribApps are Django's contrib apps; gis and postgres need libraries
// that are probed for.
var contribApps = []string{
	"admin", "admindocs", "auth", "contenttypes", "flatpages", "gis", "humanize", "messages",
	"postgres", "redirects", "sessions", "sitemaps", "sites", "staticfiles", "syndication",
}

// contribNeeds is a Python statement that fails when an app's library is
// missing, or can't be preloaded: Debian's libgdal loads OpenBLAS, which
// starts its threads at load, and no preloader forks with a thread, so the
// heavy project would measure cold starts only.
var contribNeeds = map[string]string{
	"gis": "from django.contrib.gis.gdal import libgdal\nimport os, sys\nn = len(os.listdir('/proc/self/task'))\n" +
		"if n > 1: sys.exit('its libraries start threads at import (OpenBLAS), so no preloader could fork')",
	"postgres": "import psycopg2",
}

// newHeavySite generates the heavier project in cfg.tmp/name, and says
// which contrib apps it left out and why.
func newHeavySite(cfg *config, py, name string) (*site, []string, error) {
	dir := filepath.Join(cfg.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	if out, err := exec.Command(py, "-m", "django", "startproject", "heavysite", dir).CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("startproject: %v\n%s", err, out)
	}
	var apps, leftOut []string
	for _, a := range contribApps {
		if stmt, ok := contribNeeds[a]; ok {
			if out, err := exec.Command(py, "-c", stmt).CombinedOutput(); err != nil {
				leftOut = append(leftOut, fmt.Sprintf("django.contrib.%s (%s)", a, lastLine(string(out))))
				continue
			}
		}
		apps = append(apps, "'django.contrib."+a+"'")
	}
	for i := 1; i <= heavyApps; i++ {
		name := fmt.Sprintf("app%02d", i)
		apps = append(apps, "'"+name+"'")
		if err := writeHeavyApp(filepath.Join(dir, name), name); err != nil {
			return nil, nil, err
		}
	}
	settings := fmt.Sprintf(`

# Added by the benchmark.
INSTALLED_APPS = [
    %s,
]
SITE_ID = 1
`, strings.Join(apps, ",\n    "))
	settingsFile := filepath.Join(dir, "heavysite", "settings.py")
	if err := appendFile(settingsFile, settings); err != nil {
		return nil, nil, err
	}
	urls := `from django.contrib import admin
from django.urls import include, path

from app01 import views

urlpatterns = [
    path('admin/doc/', include('django.contrib.admindocs.urls')),
    path('admin/', admin.site.urls),
    path('hello/', views.hello),
]
`
	if err := os.WriteFile(filepath.Join(dir, "heavysite", "urls.py"), []byte(urls), 0o644); err != nil {
		return nil, nil, err
	}
	s := &site{
		dir:      dir,
		settings: settingsFile,
		pyFile:   filepath.Join(dir, "app01", "views.py"),
		pyPath:   "/hello/",
		pyText: func(marker, pad string) string {
			return "from django.http import HttpResponse\n\n\ndef hello(request):\n    return HttpResponse('" + marker + "')\n# " + pad + "\n"
		},
	}
	if err := os.WriteFile(s.pyFile, []byte(s.pyText("bench-py-0", padding(0))), 0o644); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(py, "manage.py", "makemigrations")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("makemigrations: %v\n%s", err, out)
	}
	return s, leftOut, nil
}

func writeHeavyApp(dir, name string) error {
	var models, admin strings.Builder
	models.WriteString("from django.conf import settings\nfrom django.db import models\n")
	admin.WriteString("from django.contrib import admin\n\nfrom . import models\n")
	for m := 1; m <= heavyModels; m++ {
		parent := "settings.AUTH_USER_MODEL"
		if m > 1 {
			parent = fmt.Sprintf("'Model%02d'", m-1)
		}
		fmt.Fprintf(&models, `

class Model%02[1]d(models.Model):
    name = models.CharField(max_length=200, db_index=True)
    slug = models.SlugField(unique=True)
    body = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=0)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    parent = models.ForeignKey(%[2]s, on_delete=models.CASCADE, null=True, blank=True,
                               related_name='%%(app_label)s_%%(class)s_children')

    class Meta:
        ordering = ['-created']
        verbose_name = '%[3]s model %[1]d'

    def __str__(self):
        return self.name
`, m, parent, name)
		fmt.Fprintf(&admin, `

@admin.register(models.Model%02d)
class Model%02dAdmin(admin.ModelAdmin):
    list_display = ['name', 'slug', 'count', 'price', 'active', 'created']
    list_filter = ['active', 'created']
    search_fields = ['name', 'body']
    prepopulated_fields = {'slug': ['name']}
`, m, m)
	}
	files := map[string]string{
		"__init__.py":            "",
		"models.py":              models.String(),
		"admin.py":               admin.String(),
		"migrations/__init__.py": "",
	}
	for rel, text := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// clone copies the site's folder to dir and returns the copy, for a second
// server that must not see the first one's edits.
func (s *site) clone(dir string) (*site, error) {
	if err := copyTree(s.dir, dir); err != nil {
		return nil, err
	}
	c := *s
	c.dir = dir
	rebase := func(p string) string {
		if p == "" {
			return ""
		}
		rel, _ := filepath.Rel(s.dir, p)
		return filepath.Join(dir, rel)
	}
	c.settings, c.pyFile, c.tplFile = rebase(s.settings), rebase(s.pyFile), rebase(s.tplFile)
	return &c, nil
}
