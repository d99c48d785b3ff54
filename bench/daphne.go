//go:build linux

package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Daphne's runserver, as Channels projects run it (daphne first in
// INSTALLED_APPS): a Python edit on ours warm and cold, Daphne under
// Django's StatReloader and the floor, in the same rounds, and the requests
// that fail meanwhile on each.

// daphneServers are the servers the daphne section compares, each on a
// copy of its own.
var daphneServers = []string{"warm", "cold", "stat", "floor"}

// daphneSettings puts Daphne's runserver first, as Django's docs tell
// Channels projects to; livesite's ASGI_APPLICATION is its asgi.py.
const daphneSettings = "\n# Added by the benchmark: Daphne's runserver.\nINSTALLED_APPS.insert(0, \"daphne\")\n"

// newDaphneSite copies testdata/livesite with Daphne's runserver; its Python
// edit rewrites the VERSION that /version serves.
func newDaphneSite(cfg *config, name string) (*site, error) {
	ls, err := newLivesite(cfg, name)
	if err != nil {
		return nil, err
	}
	settings := filepath.Join(ls.dir, "livesite", "settings.py")
	if err := appendFile(settings, daphneSettings); err != nil {
		return nil, err
	}
	return &site{
		dir: ls.dir, settings: settings, pyFile: ls.views, pyPath: "/version",
		pyText: func(marker, pad string) string {
			return strings.Replace(ls.original, `VERSION = "v1"`, `VERSION = "`+marker+`"`, 1) + "# " + pad + "\n"
		},
	}, nil
}

func runDaphne(cfg *config, env *env, r *report) {
	if out, err := exec.Command(env.python, "-c", "import daphne.server").CombinedOutput(); err != nil {
		for _, key := range daphneServers {
			r.unavailable("daphne/"+key, fmt.Sprintf("%s cannot import Daphne (%v: %s); `make deps` installs Debian's python3-daphne", env.python, err, strings.TrimSpace(string(out))))
		}
		return
	}
	progress("daphne: ours warm and cold, StatReloader and the floor on copies of testdata/livesite under Daphne")
	copies, err := newCopies(daphneServers, func(key string) (*site, error) { return newDaphneSite(cfg, "daphne-"+key) })
	if err != nil {
		r.fail("daphne: %v", err)
		return
	}
	var trials []*trial
	for _, run := range []struct{ key, preload string }{{"warm", "auto"}, {"cold", "off"}} {
		o, port := startOursOr(env, r, "daphne, ours "+run.key, copies[run.key].dir, run.preload)
		if o == nil {
			return
		}
		defer o.close()
		trials = append(trials, newTrial("daphne/"+run.key, o, copies[run.key].pyEdit(port), port))
	}
	plains, closePlains, ok := plainTrials(env, r, "daphne", []string{stat, noreload}, copies)
	defer closePlains()
	if !ok {
		return
	}
	trials = append(trials, plains...)
	last := map[int]time.Time{}
	runRounds("daphne", trials, cfg.reps, last)
	r.putTrials(trials)

	// Then the failures, in rounds of their own: four clients every 10 ms
	// would weigh on the timings of this shared machine.
	progress("daphne: failed requests during reloads")
	counted := make([]*trial, len(trials))
	counters := make([]*counter, len(trials))
	for i, t := range trials {
		counted[i] = newTrial(t.key, t.srv, t.e, t.port)
		counters[i] = countRequests(t.e.url)
	}
	runRounds("daphne, failures", counted, cfg.reps, last)
	for i, t := range counted {
		total, failed := counters[i].stop()
		r.failedTotals = append(r.failedTotals, failedTotal{t.key, total, failed})
	}
}

// daphneMarkdown renders the daphne section.
func (r *report) daphneMarkdown(b *strings.Builder) {
	b.WriteString("## 11. Daphne's runserver (Channels projects)\n\n")
	b.WriteString("A copy of testdata/livesite with `daphne` first in `INSTALLED_APPS`, so that runserver is Daphne's,\n" +
		"serving the ASGI application (Debian's python3-daphne). The view behind `/version` is edited as in\n" +
		"section 1. Ours warm forks from the preloaders, which leave Daphne's server module and Twisted's reactor\n" +
		"to each server; cold starts a fresh interpreter. Django's StatReloader restarts Daphne's runserver\n" +
		"itself; the floor is `--noreload`, killed and started cold.\n\n")
	rows := []row{
		{"ours, `fast`, warm (`preload: auto`), didSave", "daphne/warm"},
		{"ours, `fast`, cold (`preload: off`), didSave", "daphne/cold"},
		{"Daphne under Django StatReloader", "daphne/stat"},
		{"Daphne, " + describe(noreload), "daphne/floor"},
	}
	r.table(b, rows, []anchor{{"floor", "daphne/floor"}, {"StatReloader", "daphne/stat"}}, true, nil)
	b.WriteString("\nFailed requests: after the timed rounds, the same number of saves again, with a request for `/version`\n" +
		"every 10 ms to each server (each on a new connection, without waiting for the one before) throughout.\n\n")
	b.WriteString("| server | requests | failed |\n|---|---|---|\n")
	for _, row := range rows {
		found := false
		for _, t := range r.failedTotals {
			if t.key == row.key {
				fmt.Fprintf(b, "| %s | %d | **%d** |\n", row.label, t.total, t.failed)
				found = true
			}
		}
		if !found {
			fmt.Fprintf(b, "| %s | %s | |\n", row.label, orNotMeasured(r.unavail[row.key]))
		}
	}
	b.WriteString("\n")
}

func orNotMeasured(why string) string {
	if why != "" {
		return "unavailable: " + why
	}
	return "not measured"
}
