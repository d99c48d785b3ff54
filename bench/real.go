//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/internal/corpus"
	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
)

// realProject is a project of the corpus as the real section runs it: how
// to copy it, and the Python edit made to it.
type realProject struct {
	key, title string
	copy       func(cache, dest string) (corpus.Project, error)
	// edit is the file the project owns that the edit rewrites, relative
	// to the project, and the page that shows it.
	file, path string
	// text is the file's version that serves marker, made from the
	// packaged one; pad grows with each version (see padding).
	text func(packaged, marker, pad string) string
	// readyTarget: the first response after "ready" is judged (issue 17
	// sets it on Mailman, where runserver's lazy first request was seen).
	readyTarget bool
}

// realProjects: for Mailman, its own urls.py gains a view, which every
// request reaches through the whole URLconf (postorius, hyperkitty,
// allauth, the admin) and Mailman's middleware; for graphite-web, the view
// behind /version/ in the copied graphite package.
var realProjects = []realProject{
	{
		key: "mailman", title: "Mailman 3's web UI", copy: corpus.Mailman,
		file: "urls.py", path: "/bench/", readyTarget: true,
		text: func(packaged, marker, pad string) string {
			return packaged + `

# Added by the benchmark.
from django.http import HttpResponse


def bench(request):
    return HttpResponse('` + marker + `')


urlpatterns.append(url(r'^bench/$', bench))
# ` + pad + "\n"
		},
	},
	{
		key: "graphite", title: "graphite-web", copy: corpus.Graphite,
		file: filepath.Join("graphite", "version", "views.py"), path: "/version/",
		text: func(packaged, marker, pad string) string {
			return strings.Replace(packaged, "settings.WEBAPP_VERSION,", "'"+marker+"',", 1) + "# " + pad + "\n"
		},
	},
}

// realServers are the servers a real project is measured on, each on a
// copy of its own.
var realServers = []string{"warm", "cold", "stat", "floor"}

// runReal measures each project of the corpus: the Python edit on ours
// warm and cold, StatReloader and the floor in the same rounds; how soon
// the first response follows the status that says the server runs; and
// idle CPU right after start.
func runReal(cfg *config, env *env, r *report) {
	cache, required := corpus.Cache(cfg.root)
	for _, p := range realProjects {
		if err := runRealProject(cfg, env, r, p, cache); err != nil {
			if errors.Is(err, corpus.ErrMissing) && !required {
				why := fmt.Sprintf("%v; `make bench` runs `make corpus` first", err)
				r.unavailable("real/"+p.key, why)
				r.notes["real/"+p.key] = "not measured: " + why
				continue
			}
			r.fail("real, %s: %v", p.key, err)
		}
	}
}

func runRealProject(cfg *config, env *env, r *report, p realProject, cache string) error {
	progress("real: copying %s for %d servers", p.title, len(realServers))
	sites := map[string]*site{}
	logs := map[string]string{} // by server: where Django logs, see corpus.Project
	var python string
	for _, key := range realServers {
		c, err := p.copy(cache, filepath.Join(cfg.tmp, "real-"+p.key+"-"+key))
		if err != nil {
			return err
		}
		if sites[key], err = realSite(c, p); err != nil {
			return err
		}
		python, logs[key] = c.Python, c.DjangoLog
	}
	progress("real: starting ours warm and cold, StatReloader and the floor on %s", p.title)
	// The corpus runs on its own Python, whatever -python says.
	corpusEnv := *env
	corpusEnv.python = python
	prefix := "real/" + p.key
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	warmCold := map[string]*ours{}
	ports := map[string]int{}
	for key, preload := range map[string]string{"warm": "auto", "cold": "off"} {
		o, port, err := startOurs(&corpusEnv, sites[key].dir, preload)
		if err != nil {
			return fmt.Errorf("ours %s: %w", key, err)
		}
		warmCold[key], ports[key] = o, port
		closers = append(closers, warmCold[key].close)
	}
	plains := map[string]*plain{}
	for _, reloader := range []string{stat, noreload} {
		key := rowKey[reloader]
		port, err := freePort()
		if err != nil {
			return err
		}
		pl, err := startPlainLogging(python, sites[key].dir, port, reloader, sites[key].pyEdit(port).url, logs[key])
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		plains[key], ports[key] = pl, port
		closers = append(closers, pl.close)
	}

	progress("real: idle CPU right after start (%s)", cfg.idle)
	idleRows(r, prefix+"/idle-start", 0, cfg.idle, warmCold["cold"], warmCold["warm"], warmCold["warm"].b, plains)

	var trials []*trial
	for _, key := range realServers {
		var srv server
		if o := warmCold[key]; o != nil {
			srv = o
		} else {
			srv = plains[key]
		}
		trials = append(trials, newTrial(prefix+"/"+key, srv, sites[key].pyEdit(ports[key]), ports[key]))
	}
	last := map[int]time.Time{}
	runRounds("real, "+p.key, trials, cfg.reps, last)
	r.putTrials(trials)
	r.notes[prefix+"/warm"] = preloadNote(warmCold["warm"].b)

	for _, key := range []string{"warm", "cold"} {
		progress("real: %s, ours %s: from the status that says it runs until the first response", p.title, key)
		s, again, err := measureReady(warmCold[key], sites[key].pyEdit(ports[key]), cfg.reps, last[ports[key]])
		if err != nil {
			r.fail("real, %s, ours %s: ready until the first response: %v", p.key, key, err)
			continue
		}
		r.put(prefix+"/ready-"+key, s)
		r.put(prefix+"/again-"+key, again)
	}
	return nil
}

// realSite is the corpus project c as a site whose Python edit is p's,
// with the file already at version 0, so its page serves from the start.
func realSite(c corpus.Project, p realProject) (*site, error) {
	file := filepath.Join(c.Dir, p.file)
	packaged, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s := &site{
		dir:    c.Dir,
		pyFile: file,
		pyPath: p.path,
		pyText: func(marker, pad string) string { return p.text(string(packaged), marker, pad) },
	}
	return s, os.WriteFile(file, []byte(s.pyText("bench-py-0", padding(0))), 0o644)
}

// measureReady times, reps times after one warm-up, what a page that
// reloads itself on the status meets: the edit is saved, and once the
// status says the new process runs, the page is requested once; the time
// runs from that status's arrival until the response, which must show the
// edit. Runserver leaves work to the first request (the URL resolver, the
// middleware chain): this is what it still costs.
// again is the same page requested once more at once: the request alone,
// once nothing is left lazy.
func measureReady(o *ours, e edit, reps int, last time.Time) (s, again *sample, err error) {
	s, again = newSample("ms"), newSample("ms")
	for i := 0; i <= reps; i++ {
		if err := o.settle(last); err != nil {
			return nil, nil, err
		}
		before, err := o.b.Status("")
		if err != nil {
			return nil, nil, err
		}
		from := o.b.Mark()
		*e.n++
		text, marker := e.content(*e.n)
		if err := os.WriteFile(e.file, []byte(text), 0o644); err != nil {
			return nil, nil, err
		}
		if err := o.afterWrite(e.file); err != nil {
			return nil, nil, err
		}
		at, err := runningAt(o.b, from, before.Reloads)
		if err != nil {
			return nil, nil, err
		}
		body, err := get(e.url)
		served := time.Now()
		last = served
		if err != nil {
			return nil, nil, fmt.Errorf("the first request after the status: %w", err)
		}
		if !strings.Contains(body, marker) {
			return nil, nil, fmt.Errorf("the first response after the status still served the old code (want %q): %.200s", marker, body)
		}
		t0 := time.Now()
		if _, err := get(e.url); err != nil {
			return nil, nil, fmt.Errorf("the second request after the status: %w", err)
		}
		if i > 0 {
			s.addDuration(served.Sub(at))
			again.addDuration(time.Since(t0))
		}
	}
	return s, again, nil
}

// runningAt waits for the status, after the mark from, that says a
// process newer than reloads runs, and returns when it arrived.
func runningAt(b *backend, from, reloads int) (time.Time, error) {
	newer := func(st protocol.Status) bool { return st.State == protocol.StateRunning && st.Reloads > reloads }
	if err := b.Await(60*time.Second, from, fakeeditor.Reach("", "a reload to run", newer, nil)); err != nil {
		return time.Time{}, fmt.Errorf("%w%s", err, b.stderr())
	}
	for _, m := range b.Since(from) {
		for _, st := range fakeeditor.Statuses([]fakeeditor.Message{m}, "") {
			if newer(st) {
				return m.At, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("the status that met the wait is gone")
}

// realMarkdown is the real projects' section of the report.
func (r *report) realMarkdown(b *strings.Builder) {
	b.WriteString("## 10. Real projects: Mailman 3's web UI and graphite-web\n\n")
	b.WriteString("Two projects no one here wrote, from Debian bookworm (`make corpus`; internal/corpus): Mailman 3's\n" +
		"web UI (`mailman3-web`: postorius, hyperkitty, allauth, DRF, haystack, django_q, compressor; its\n" +
		"packaged settings kept, file log included) and graphite-web 1.1.8, on Debian's Python and Django 3.2.\n" +
		"Each server has a copy of its own. The Python edit, as in section 1: Mailman's own `urls.py` gains a\n" +
		"view at `/bench/`, reached through the whole URLconf and Mailman's middleware; graphite-web's\n" +
		"`graphite/version/views.py`, behind `/version/`. Ours warm runs `preload: auto` from the best level\n" +
		"the project allows: the note counts the reloads forked from the second level (Django set up ahead,\n" +
		"which the status's `setUpAhead` says) and from the first (modules only), with the backend's reason.\n\n")
	note := func(key string) string { return r.notes[key] }
	for _, p := range realProjects {
		prefix := "real/" + p.key
		fmt.Fprintf(b, "### %s\n\n", p.title)
		if why := r.notes[prefix]; why != "" {
			fmt.Fprintf(b, "%s\n\n", why)
			continue
		}
		fmt.Fprintf(b, "Save until the new code is served (`%s`, `%s`):\n\n", p.file, p.path)
		r.table(b, []row{
			{"ours, warm (`preload: auto`), didSave", prefix + "/warm"},
			{"ours, cold (`preload: off`), didSave", prefix + "/cold"},
			{"Django StatReloader", prefix + "/stat"},
			{describe(noreload), prefix + "/floor"},
		}, []anchor{{"floor", prefix + "/floor"}, {"ours cold", prefix + "/cold"}, {"StatReloader", prefix + "/stat"}}, true, note)
		b.WriteString("From the status that says the new process runs until the first response: the edit is saved, and\n" +
			"once that status arrives the page is requested once, as a page that reloads itself on the status\n" +
			"does. It is what the first request still pays for after \"ready\" (the server builds the URL\n" +
			"tables, template engines and middleware imports before it says so; what the project imports only\n" +
			"on its first request is left), plus the request itself, which the page requested again at once\n" +
			"shows alone.\n\n")
		r.table(b, []row{
			{"ours, warm: ready until the first response", prefix + "/ready-warm"},
			{"ours, cold: ready until the first response", prefix + "/ready-cold"},
			{"ours, warm: the same page again, at once (the request alone)", prefix + "/again-warm"},
			{"ours, cold: the same page again, at once (the request alone)", prefix + "/again-cold"},
		}, nil, false, nil)
		idle := prefix + "/idle-start"
		fmt.Fprintf(b, "Idle CPU over the %s right after start, before any edit, measured as in section 3 (%% of one\n"+
			"core; ours warm once its preloaders are ready or refused):\n\n", r.cfg.idle)
		r.table(b, []row{
			{"ours: backend + Django + its preloaders (`preload: auto`)", idle + "/warm"},
			{"ours: backend + Django (`preload: off`)", idle + "/fast"},
			{"ours: the backend alone (`preload: auto`)", idle + "/backend"},
			{"plain runserver `--noreload`", idle + "/floor"},
			{"Django StatReloader (parent + child)", idle + "/stat"},
		}, []anchor{{"`--noreload`", idle + "/floor"}, {"StatReloader", idle + "/stat"}}, false, nil)
	}
}

// realTargets are the real projects' goals: a warm reload at most 0.3×
// the floor; on Mailman, the first response within 20 ms of "ready"; idle
// after start at most plain `--noreload` + 0.1 point.
func (r *report) realTargets(add func(goal string, keys []string, judge func(s []*sample) (string, bool, string))) {
	for _, p := range realProjects {
		prefix := "real/" + p.key
		add(fmt.Sprintf("Python edit, warm, on %s: at most 0.3× the floor", p.title), []string{prefix + "/warm", prefix + "/floor"}, func(s []*sample) (string, bool, string) {
			ratio := s[0].median() / s[1].median()
			return fmt.Sprintf("%s vs %s: %.2f×", s[0].medianText(), s[1].medianText(), ratio), ratio <= 0.3,
				"see the note in section 10: which level each warm reload forked from, and why not the second"
		})
		if p.readyTarget {
			for _, kind := range []string{"warm", "cold"} {
				add(fmt.Sprintf("%s, ours %s: the first response within 20 ms of the status that says it runs", p.title, kind),
					[]string{prefix + "/ready-" + kind}, func(s []*sample) (string, bool, string) {
						return s[0].medianText(), s[0].median() <= 20,
							"the first request still imports what the project loads only then (on Mailman, haystack's Whoosh backend: about 25 ms of imports)"
					})
			}
		}
		idle := prefix + "/idle-start"
		add(fmt.Sprintf("Idle CPU right after start on %s, with the preloaders: at most plain `--noreload` + 0.1%% of one core", p.title),
			[]string{idle + "/warm", idle + "/floor"}, func(s []*sample) (string, bool, string) {
				extra := s[0].median() - s[1].median()
				return fmt.Sprintf("%s vs %s: %+.2f points", s[0].medianText(), s[1].medianText(), extra), extra <= 0.1,
					"see the backend's own row in section 10"
			})
	}
}
