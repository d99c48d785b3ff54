//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/server/watch"
)

// report collects every measurement and renders them as Markdown.
type report struct {
	cfg      *config
	env      *env
	samples  map[string]*sample
	unavail  map[string]string // why a row (by key suffix: "watchman") has no sample
	failures []string
	elapsed  time.Duration
	// loadStart is the machine's load average as the run began.
	loadStart string

	scaleTree    string
	scalePolled  int
	limit        limitResult
	heavyLeftOut []string
	failedTotals []failedTotal // by server, in the order measured
	// notes are remarks on a row, by its key: how many warm reloads were
	// warm.
	notes map[string]string
}

func (r *report) put(key string, s *sample) {
	if r.samples == nil {
		r.samples = map[string]*sample{}
	}
	r.samples[key] = s
}

func (r *report) get(key string) *sample {
	if s := r.samples[key]; s != nil && s.n() > 0 {
		return s
	}
	return nil
}

func (r *report) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	lines := strings.Split(msg, "\n")
	if len(lines) > 12 {
		lines = append(append(lines[:3:3], "    …"), lines[len(lines)-8:]...)
	}
	progress("FAILED: %s", strings.Join(lines, "\n"))
	// The report keeps the gist: the message and the last line of any
	// output quoted under it (a traceback's exception).
	if first, rest, ok := strings.Cut(msg, "\n"); ok {
		msg = first + " … " + lastLine(rest)
	}
	r.failures = append(r.failures, msg)
}

func (r *report) unavailable(key, why string) {
	progress("%s unavailable: %s", key, why)
	if r.unavail == nil {
		r.unavail = map[string]string{}
	}
	r.unavail[key] = why
}

// row is one line of a table: a label and the key of its sample.
type row struct {
	label, key string
}

// anchor is a row others are divided by.
type anchor struct {
	header, key string
}

// table renders rows with median, range, count, optionally whether the
// server restarted, a ratio column per anchor, and a note per row.
func (r *report) table(b *strings.Builder, rows []row, anchors []anchor, restarts bool, note func(key string) string) {
	head := []string{"", "median", "min – max", "n"}
	if restarts {
		head = append(head, "restarted")
	}
	for _, a := range anchors {
		head = append(head, "÷ "+a.header)
	}
	if note != nil {
		head = append(head, "note")
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, rw := range rows {
		cells := []string{rw.label}
		s := r.get(rw.key)
		switch {
		case s != nil:
			cells = append(cells, "**"+s.medianText()+"**", s.rangeText(), fmt.Sprint(s.n()))
		case r.samples[rw.key] != nil && r.samples[rw.key].missed > 0:
			cells = append(cells, "every edit missed", "", "0")
		case r.unavailFor(rw.key) != "":
			cells = append(cells, "unavailable: "+r.unavailFor(rw.key), "", "")
		default:
			cells = append(cells, "not measured", "", "")
		}
		if restarts {
			cells = append(cells, restartText(s))
		}
		for _, a := range anchors {
			cells = append(cells, r.ratio(rw.key, a.key))
		}
		if note != nil {
			cells = append(cells, note(rw.key))
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

func (r *report) unavailFor(key string) string {
	_, name, _ := strings.Cut(key, "/")
	return r.unavail[name]
}

func restartText(s *sample) string {
	var text string
	switch {
	case s == nil || s.restarts < 0:
		return ""
	case s.restarts == 0:
		text = fmt.Sprintf("no (0/%d)", s.n())
	default:
		text = fmt.Sprintf("**yes** (%d/%d)", s.restarts, s.n())
	}
	if s.missed > 0 {
		text += fmt.Sprintf("; **%d edit(s) never served** (given up after %s)", s.missed, missAfter)
	}
	return text
}

// ratio divides medians: "0.33" means a third of the anchor's.
func (r *report) ratio(key, anchorKey string) string {
	s, a := r.get(key), r.get(anchorKey)
	switch {
	case s == nil || a == nil || a.median() <= 0:
		return "—"
	case key == anchorKey:
		return "1"
	}
	return fmt.Sprintf("%.2f", s.median()/a.median())
}

func (r *report) markdown() string {
	var b strings.Builder
	cfg, env := r.cfg, r.env
	b.WriteString("# Benchmarks\n\n")
	mode := "`make bench`"
	if cfg.smoke {
		mode = "`make bench-smoke`, a CI check that the benchmark runs (2 repetitions, a small tree: not numbers to quote),"
	}
	fmt.Fprintf(&b, "Written by %s on %s, in %s. Each timing is the median, and the\n"+
		"min – max, of %d repetitions after one warm-up. A ratio divides two medians: 0.33 means a third of the\n"+
		"anchor's. Targets are reported, never asserted; a missed one says why.\n\n",
		mode, time.Now().UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second), cfg.reps)

	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- %d cores (%s), shared with other work, so expect noise: the load average was %s when the\n"+
		"  run began and %s when it ended\n", runtime.NumCPU(), cpuModel(), r.loadStart, loadAverage())
	fmt.Fprintf(&b, "- %s, Linux %s\n", osName(), kernel())
	fmt.Fprintf(&b, "- Python %s (`%s`), Django %s, %s\n", env.pythonVersion, env.python, env.djangoVersion, runtime.Version())
	if env.watchmanVersion != "" {
		fmt.Fprintf(&b, "- watchman %s (Debian's `watchman` and `python3-pywatchman`)\n", env.watchmanVersion)
	}
	b.WriteString("\n")

	b.WriteString("## Targets\n\n")
	b.WriteString("| target | measured | result |\n|---|---|---|\n")
	for _, t := range r.targets() {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.goal, t.got, t.verdict())
	}
	b.WriteString("\n")

	sizes := []anchor{{"StatReloader", "stat"}, {"WatchmanReloader", "watchman"}, {"floor", "floor"}}
	editRows := func(kind string) ([]row, []anchor) {
		rows := []row{
			{"ours, `fast`, didSave", kind + "/fast-save"},
			{"ours, `fast`, watcher alone", kind + "/fast-watch"},
			{"Django StatReloader", kind + "/stat"},
			{"Django WatchmanReloader", kind + "/watchman"},
			{describe(noreload), kind + "/floor"},
		}
		var as []anchor
		for _, a := range sizes {
			as = append(as, anchor{a.header, kind + "/" + a.key})
		}
		return rows, as
	}

	b.WriteString("## 1. Python edit: save until the new code is served\n\n")
	b.WriteString("`testdata/mysite`: the view behind `/hello/` (`polls/views.py`) is rewritten, then `/hello/` is fetched\n" +
		"every 3 ms, on a new connection each time, until it returns the new text. The time runs from just\n" +
		"before the write. didSave is sent right after the write, as an editor does on save; \"watcher alone\"\n" +
		"sends nothing, so the backend's file watcher must notice. Each server has its own copy of the\n" +
		"project and all run at once; the rows take turns, one repetition each, so the machine's background\n" +
		"load falls on all alike (all Python edits first, then all template edits). Before an edit a server gets a quiet spell after its last one: 150 ms for\n" +
		"ours and the floor; for Django's reloaders 1.2 s plus a random 0–1 s, so saves land at random points\n" +
		"of StatReloader's one-second poll: a fixed pause can lock onto the poll's period and report the same\n" +
		"lucky or unlucky delay every time (the script behind DESIGN.md's table pauses a fixed 1.2 s).\n\n")
	rows, as := editRows("py")
	r.table(&b, rows, as, true, nil)

	b.WriteString("## 2. Template edit: save until served\n\n")
	b.WriteString("`polls/templates/polls/index.html`, rendered by `/`, which is fetched once before each edit, as a\n" +
		"developer looks at a page before changing it. The copies of mysite cache compiled templates, as\n" +
		"Django 4.1+ does by default with DEBUG on: Django 3.2 re-reads templates on every request unless told\n" +
		"to cache, which would let any server serve an edit at once, reloader or not. \"restarted\" compares\n" +
		"the pid listening on the port before and after.\n\n")
	rows, as = editRows("tpl")
	r.table(&b, rows, as, true, nil)

	fmt.Fprintf(&b, "## 3. Idle CPU\n\n")
	fmt.Fprintf(&b, "On-CPU time of each server's whole process tree, from `/proc/PID/task/*/schedstat`, sampled each\n"+
		"second over the same %s for all, with nothing requested. %% of one core. First right after start,\n"+
		"before any edit (ours warm: once its preloaders are ready), the seconds every user meets; then %s\n"+
		"after the edits above.\n\n", cfg.idle, idleSettle)
	for _, when := range []struct{ title, prefix string }{{"Right after start", "idle-start"}, {"After the edits", "idle"}} {
		fmt.Fprintf(&b, "%s:\n\n", when.title)
		p := when.prefix
		r.table(&b, []row{
			{"ours: backend + Django (`fast`, `preload: off`)", p + "/fast"},
			{"ours: backend + Django + its two preloaders (`fast`, `preload: auto`)", p + "/warm"},
			{"ours: the backend alone", p + "/backend"},
			{"plain runserver `--noreload`", p + "/floor"},
			{"Django StatReloader (parent + child)", p + "/stat"},
			{"Django WatchmanReloader (parent + child)", p + "/watchman"},
			{"Django WatchmanReloader + the watchman service", p + "/watchman+service"},
		}, []anchor{{"`--noreload`", p + "/floor"}, {"StatReloader", p + "/stat"}, {"WatchmanReloader", p + "/watchman"}}, false, nil)
	}

	b.WriteString("## 4. Stop: from the stop request until the port can be bound again\n\n")
	r.table(&b, []row{
		{"ours: `runserver/stop` until the port binds", "stop/ours"},
		{"ours: `runserver/stop` until its reply", "stop/ours-reply"},
		{"Django StatReloader: Ctrl-C (SIGINT to the group) until the port binds", "stop/stat"},
	}, []anchor{{"StatReloader Ctrl-C", "stop/stat"}}, false, nil)

	b.WriteString("## 5. The backend's own cost\n\n")
	b.WriteString("RSS is the backend process alone (`VmHWM`, its peak, from `/proc/PID/status`); Django runs in its own\n" +
		"process. Initialize is timed from just before exec until the reply, opening one folder.\n\n")
	r.table(&b, []row{
		{"spawn until the `initialize` reply", "init"},
		{"for scale: spawn until exit of `django-runserver --version`", "init/exec"},
		{"peak RSS at rest (initialized, no server)", "rss/rest"},
		{"peak RSS over the mysite session (server running, every edit above, idle)", "rss/running"},
		{"peak RSS over the heavier project's session", "rss/heavy"},
	}, nil, false, nil)

	b.WriteString("## 6. Scale: the file watcher on a large tree\n\n")
	if r.scaleTree != "" {
		fmt.Fprintf(&b, "`server/watch`, with the engine's options, on a generated tree of %s. Memory is the\n"+
			"growth of the Go heap in use once the watcher is set up, and the growth of RSS in a fresh process that\n"+
			"does nothing but set one up (the kernel's own memory for each inotify watch is not counted). Latency is\n"+
			"from a file's write until the watcher's batch holds it; the first event alone is shown too, since\n"+
			"batches wait for %s of quiet. %d folders were polled instead of watched. The `watch: poll` rows run a\n"+
			"poll-only watcher at the default interval, its idle CPU in a process of its own. Each pass stats every\n"+
			"folder and reads again those whose time changed, which catches added, deleted and renamed files (a\n"+
			"checkout, an editor that saves by renaming) on the next pass; it lstats the files of folders changed in\n"+
			"the last ten minutes, and %d of the other files in turn, so a file rewritten in place in a quiet\n"+
			"folder of a tree this size waits for its turn, a few passes at most.\n\n",
			r.scaleTree, watch.Debounce, r.scalePolled, watch.PollBudget)
	}
	r.table(&b, []row{
		{"set-up (walk and watch every folder)", "scale/setup"},
		{"Go heap growth", "scale/heap"},
		{"RSS growth (a process that only watches)", "scale/rss"},
		{"change until the first event", "scale/first"},
		{"change until the reload trigger (the batch)", "scale/trigger"},
		{fmt.Sprintf("`watch: poll` every %s: idle CPU of a process that only polls (%% of one core)", watch.PollInterval), "scale/poll-idle"},
		{fmt.Sprintf("`watch: poll` every %s: a file added, until the batch", watch.PollInterval), "scale/poll-trigger"},
		{fmt.Sprintf("`watch: poll` every %s: a file in a quiet folder rewritten in place, until the batch", watch.PollInterval), "scale/poll-inplace"},
	}, nil, false, nil)
	b.WriteString(r.limitText())

	b.WriteString("## 7. Project size: a Python edit on a heavier project\n\n")
	fmt.Fprintf(&b, "A generated project: `startproject` with every `django.contrib` app this Python can load, plus %d apps of\n"+
		"%d models each (foreign keys, admin registrations with list filters and search, migrations). The view\n"+
		"`app01/views.py` is edited as in section 1.", heavyApps, heavyModels)
	if len(r.heavyLeftOut) > 0 {
		fmt.Fprintf(&b, " Left out: %s.", strings.Join(r.heavyLeftOut, "; "))
	}
	b.WriteString("\n\n")
	r.table(&b, []row{
		{"ours, `fast`, didSave", "heavy/fast-save"},
		{"Django StatReloader", "heavy/stat"},
		{describe(noreload), "heavy/floor"},
	}, []anchor{{"StatReloader", "heavy/stat"}, {"floor", "heavy/floor"}}, true, func(key string) string {
		_, name, _ := strings.Cut(key, "/")
		h, m := r.get(key), r.get("py/"+name)
		if h == nil || m == nil {
			return ""
		}
		return fmt.Sprintf("mysite: %s, so ×%.1f", m.medianText(), h.median()/m.median())
	})

	r.browserMarkdown(&b)

	b.WriteString("### Where our time over the floor goes\n\n")
	b.WriteString("A Python edit is two spans: from the save until the new process is spawned (the old one must\n" +
		"go first), then its cold start until it serves. The first span is timed from the backend's status\n" +
		"notification that names the new pid, and for the floor from its SIGTERM-and-wait. A probe then loads\n" +
		"each project as runserver does (setup, system checks, URLconf) and times two steps that Django's own\n" +
		"reloader takes on this path and our shim keeps off it: listing and resolving every watched module\n" +
		"(the shim does it once, after the server serves, and looks changes up in that list), and Python's\n" +
		"normal shutdown after `sys.exit(3)` (the shim's `trigger_reload` ends with `os._exit(3)`). A live\n" +
		"server has loaded more modules than the probe, so the probe's numbers are lower bounds.\n\n")
	r.table(&b, []row{
		{"mysite, ours (didSave): save until the new process is spawned", "py/fast-save/spawn"},
		{"mysite, floor: save until the new process is spawned", "py/floor/spawn"},
		{"mysite: resolve every watched module path (probe)", "anatomy/mysite/resolve"},
		{"mysite: interpreter shutdown after `sys.exit(3)` (probe)", "anatomy/mysite/exit"},
		{"heavier project, ours (didSave): save until the new process is spawned", "heavy/fast-save/spawn"},
		{"heavier project, floor: save until the new process is spawned", "heavy/floor/spawn"},
		{"heavier project: resolve every watched module path (probe)", "anatomy/heavy/resolve"},
		{"heavier project: interpreter shutdown after `sys.exit(3)` (probe)", "anatomy/heavy/exit"},
	}, nil, false, func(key string) string {
		if !strings.HasSuffix(key, "/fast-save/spawn") {
			return ""
		}
		kind, _, _ := strings.Cut(key, "/")
		o, f := r.get(kind+"/fast-save"), r.get(kind+"/floor")
		if o == nil || f == nil {
			return ""
		}
		return fmt.Sprintf("whole edit: ours − floor = %+.0f ms", o.median()-f.median())
	})

	b.WriteString("## 8. Warm reload: a Python edit forked from the preloader\n\n")
	b.WriteString("The edit of section 1 (mysite) and of section 7 (the heavier project), on one more server of ours\n" +
		"with `preload: auto`, measured in the same rounds as the others. Every other row of ours runs with\n" +
		"`preload: off`: they start cold. Each warm server is measured once its preloaders are ready (the\n" +
		"second, with Django set up, forks a view edit), as a developer's edits come; the note counts the\n" +
		"reloads that really were warm.\n\n")
	note := func(key string) string { return r.notes[key] }
	r.table(&b, []row{
		{"mysite: ours, warm (`preload: auto`), didSave", "py/warm-save"},
		{"mysite: ours, cold (`preload: off`), didSave", "py/fast-save"},
		{"mysite: Django StatReloader", "py/stat"},
		{"mysite: Django WatchmanReloader", "py/watchman"},
		{"mysite: " + describe(noreload), "py/floor"},
	}, []anchor{{"floor", "py/floor"}, {"ours cold", "py/fast-save"}, {"StatReloader", "py/stat"}}, true, note)
	r.table(&b, []row{
		{"heavier project: ours, warm (`preload: auto`), didSave", "heavy/warm-save"},
		{"heavier project: ours, cold (`preload: off`), didSave", "heavy/fast-save"},
		{"heavier project: Django StatReloader", "heavy/stat"},
		{"heavier project: " + describe(noreload), "heavy/floor"},
	}, []anchor{{"floor", "heavy/floor"}, {"ours cold", "heavy/fast-save"}, {"StatReloader", "heavy/stat"}}, true, note)
	b.WriteString("Memory is resident (`VmRSS`) after the edits: each preloader's, beside the serving Django process\n" +
		"(Django alone). Pages a preloader and the server it forked still share are counted in both. A rebuild\n" +
		"is that of the second preloader after an edit of settings.py, which it had read: the reload forks\n" +
		"from the first (modules only), and the second is rebuilt once that server serves. It is timed from\n" +
		"its start until it is ready.\n\n")
	r.table(&b, []row{
		{"mysite: the preloader's RSS (modules)", "preload/mysite/rss"},
		{"mysite: the preloader's RSS (Django set up)", "preload/mysite/rss-setup"},
		{"mysite: the serving Django's RSS", "preload/mysite/rss-django"},
		{"mysite: rebuild after a settings.py edit", "preload/mysite/rebuild"},
		{"heavier project: the preloader's RSS (modules)", "preload/heavy/rss"},
		{"heavier project: the preloader's RSS (Django set up)", "preload/heavy/rss-setup"},
		{"heavier project: the serving Django's RSS", "preload/heavy/rss-django"},
		{"heavier project: rebuild after a settings.py edit", "preload/heavy/rebuild"},
	}, nil, false, nil)
	b.WriteString("## 9. Under the debugger\n\n")
	b.WriteString("The Python edit of section 1 (didSave), on four more copies each of mysite and of the heavier\n" +
		"project, measured in the same rounds: two servers started with `debug: true` and attached to once\n" +
		"as an editor does (DAP initialize,\n" +
		"attach, configurationDone, through the backend's relay, which replays them to each new process),\n" +
		"one cold (`preload: off`) and one warm (the default: forked from the preloader, which imported\n" +
		"debugpy and pydevd and never started them), and the same two without the debugger. The difference\n" +
		"from the row without is what debugpy costs a reload: its adapter (a new Python process), pydevd's\n" +
		"connection to it, the relay's replay of the session, and tracing Django's start, checks and URLconf\n" +
		"import and the first request (design.md's Debug Server, Cost, has the parts).\n\n")
	for _, p := range debugProjects {
		fmt.Fprintf(&b, "%s:\n\n", p.label)
		r.table(&b, []row{
			{"ours, `fast`, without the debugger, cold (`preload: off`)", p.prefix + "cold"},
			{"ours, `fast`, without the debugger, warm (`preload: auto`)", p.prefix + "warm"},
			{"ours, `fast`, debugger attached, cold (`preload: off`)", p.prefix + "attached-cold"},
			{"ours, `fast`, debugger attached, warm (`preload: auto`)", p.prefix + "attached"},
		}, []anchor{{"cold without", p.prefix + "cold"}, {"warm without", p.prefix + "warm"}}, false, nil)
	}

	r.realMarkdown(&b)
	r.daphneMarkdown(&b)

	b.WriteString("## Reproduce\n\n```\nmake bench\n```\n\n")
	fmt.Fprintf(&b, "which runs `go run ./bench -python \"$(PYTHON)\" -reps 10 -out docs/benchmarks.md` after `make deps build`\n"+
		"(this run: `go run ./bench %s`). It installs `watchman` and `python3-pywatchman` with apt-get when they\n"+
		"are missing. `make bench-smoke` is the CI version: 2 repetitions, a small tree, a 2 s idle window; it\n"+
		"writes no file, and fails only when a measurement could not run.\n", strings.Join(os.Args[1:], " "))
	if len(r.failures) > 0 {
		b.WriteString("\n## Measurements that could not run\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(f, "\n", " "))
		}
	}
	return b.String()
}

func (r *report) limitText() string {
	l := r.limit
	switch {
	case l.skipped != "":
		return "**Past `fs.inotify.max_user_watches`:** not exercised: " + l.skipped + ".\n\n"
	case !l.ran:
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**Past `fs.inotify.max_user_watches`:** the limit was lowered to %d (the watches already in use on\n"+
		"the machine plus %d) while a watcher was set up on the same tree, then restored.", l.limit, max(10, r.cfg.dirs/5))
	if len(l.warnings) == 0 {
		b.WriteString(" **No warning was given.**")
	} else {
		fmt.Fprintf(&b, " The watcher said:\n\n> %s\n\n", strings.Join(l.warnings, "\n>\n> "))
	}
	fmt.Fprintf(&b, "%d folders were polled instead.", l.polled)
	if l.latency != nil && l.latency.n() > 0 {
		fmt.Fprintf(&b, " A change in a polled folder was reported after %s (min – max %s, n = %d; the poll runs every %s).",
			l.latency.medianText(), l.latency.rangeText(), l.latency.n(), watch.PollInterval)
	}
	if l.missed > 0 {
		fmt.Fprintf(&b, " **%d change(s) in a polled folder were never reported.**", l.missed)
	}
	b.WriteString("\n\n")
	return b.String()
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func osName() string {
	b, _ := os.ReadFile("/etc/os-release")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

// loadAverage is the 1-minute load average from /proc/loadavg.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
