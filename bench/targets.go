//go:build linux

package main

import (
	"fmt"
	"strings"

	"github.com/django-runserver/django-runserver/server/watch"
)

// target is one goal of issue #5, judged on medians.
type target struct {
	goal, got string
	met       *bool  // nil: not measured
	why       string // for a miss: the reason
}

func (t target) verdict() string {
	switch {
	case t.met == nil:
		return "not measured"
	case *t.met:
		return "met"
	}
	return "**missed**: " + t.why
}

func judged(ok bool) *bool { return &ok }

func (r *report) targets() []target {
	var ts []target
	add := func(goal string, keys []string, judge func(s []*sample) (string, bool, string)) {
		var ss []*sample
		for _, k := range keys {
			s := r.get(k)
			if s == nil {
				ts = append(ts, target{goal: goal, got: "—"})
				return
			}
			ss = append(ss, s)
		}
		got, ok, why := judge(ss)
		if m := ss[0].missed; m > 0 {
			got += fmt.Sprintf("; %d edit(s) never served", m)
			why = strings.TrimPrefix(why+fmt.Sprintf("; %d edit(s) were never served", m), "; ")
			ok = false
		}
		ts = append(ts, target{goal: goal, got: got, met: judged(ok), why: why})
	}

	for _, t := range []struct{ key, how string }{{"py/fast-save", "didSave"}, {"py/fast-watch", "watcher alone"}} {
		add("Python edit ("+t.how+"): at most 1.1× the floor", []string{t.key, "py/floor"}, func(s []*sample) (string, bool, string) {
			ratio := s[0].median() / s[1].median()
			why := fmt.Sprintf("%+.0f ms over the floor: section 7 splits it into the time until the new process "+
				"is spawned and its cold start", s[0].median()-s[1].median())
			if t.key == "py/fast-watch" {
				why += fmt.Sprintf("; the watcher also waits %s for quiet before it reports", watch.Debounce)
			}
			return fmt.Sprintf("%s vs %s: %.2f×", s[0].medianText(), s[1].medianText(), ratio), ratio <= 1.1, why
		})
	}
	add("Python edit (didSave): at least 2.5× faster than StatReloader", []string{"py/fast-save", "py/stat", "py/floor"}, func(s []*sample) (string, bool, string) {
		speedup := s[1].median() / s[0].median()
		return fmt.Sprintf("%s vs %s: %.2f× faster", s[0].medianText(), s[1].medianText(), speedup), speedup >= 2.5,
			fmt.Sprintf("both pay Django's cold start (the floor, %s); StatReloader adds half a second on average, its "+
				"poll's delay for a save at a random moment, so even the floor is only %.2f× faster than it here",
				s[2].medianText(), s[1].median()/s[2].median())
	})
	for _, t := range []struct {
		key, floor, where string
		max               float64
	}{{"py/warm-save", "py/floor", "mysite", 0.4}, {"heavy/warm-save", "heavy/floor", "the heavier project", 0.5}} {
		add(fmt.Sprintf("Python edit, warm, on %s: at most %.1f× the floor", t.where, t.max), []string{t.key, t.floor}, func(s []*sample) (string, bool, string) {
			ratio := s[0].median() / s[1].median()
			return fmt.Sprintf("%s vs %s: %.2f×", s[0].medianText(), s[1].medianText(), ratio), ratio <= t.max,
				"the forked server still runs what follows Django's set-up (the system checks other than the models', " +
					"the migrations check, the URLconf), and the old process must exit first (section 8)"
		})
	}
	for _, t := range []struct{ key, how string }{{"tpl/fast-save", "didSave"}, {"tpl/fast-watch", "watcher alone"}} {
		add("Template edit ("+t.how+"): at most 25 ms, with no restart", []string{t.key}, func(s []*sample) (string, bool, string) {
			med := s[0].median()
			got := fmt.Sprintf("%s, restarted: %s", s[0].medianText(), strings.ReplaceAll(restartText(s[0]), "**", ""))
			var why []string
			if med > 25 {
				why = append(why, "the shim's lookup of the changed path among Django's watched files and template "+
					"folders (`_watched` in server/reloader/shim.py), and the request itself")
				if t.key == "tpl/fast-watch" {
					why = append(why, fmt.Sprintf("the watcher's %s debounce adds to it", watch.Debounce))
				}
			}
			if s[0].restarts > 0 {
				why = append(why, "the server restarted")
			}
			return got, med <= 25 && s[0].restarts == 0, strings.Join(why, "; ")
		})
	}
	add("The open page shows a warm Python edit within 50 ms of a fetch", []string{"browser/ours", "browser/ours-served"}, func(s []*sample) (string, bool, string) {
		lag := s[0].median() - s[1].median()
		return fmt.Sprintf("%s vs %s: %+.0f ms", s[0].medianText(), s[1].medianText(), lag), lag <= 50,
			"the page reloads and loads its own assets after its stream hears of the new process"
	})
	for _, t := range []struct{ key, floor, what string }{
		{"idle-start/fast", "idle-start/floor", " right after start"},
		{"idle-start/warm", "idle-start/floor", " right after start, with the preloaders"},
		{"idle/fast", "idle/floor", " after edits"},
		{"idle/warm", "idle/floor", " after edits, with the preloaders"},
	} {
		add("Idle CPU"+t.what+": at most plain `--noreload` runserver + 0.1% of one core", []string{t.key, t.floor}, func(s []*sample) (string, bool, string) {
			extra := s[0].median() - s[1].median()
			return fmt.Sprintf("%s vs %s: %+.2f points", s[0].medianText(), s[1].medianText(), extra), extra <= 0.1,
				"see the backend's own row in section 3"
		})
	}
	r.realTargets(add)
	add("Stop until the port is free: at most 300 ms", []string{"stop/ours"}, func(s []*sample) (string, bool, string) {
		return s[0].medianText(), s[0].median() <= 300, "Django takes that long to exit on SIGINT"
	})
	add("Every stop until the port is free: at most 500 ms", []string{"stop/ours"}, func(s []*sample) (string, bool, string) {
		return fmt.Sprintf("max %s of %d stops", s[0].format(s[0].max()), s[0].n()), s[0].max() <= 500,
			"a stop that takes seconds waited out the kill fallback: the interrupt did not end Django"
	})
	add("Backend RSS while running a server: at most 20 MB", []string{"rss/running"}, func(s []*sample) (string, bool, string) {
		return s[0].medianText() + " peak", s[0].median() <= 20, "the backend's peak exceeds 20 MB"
	})
	add("`initialize` answered within 20 ms of spawn", []string{"init", "init/exec"}, func(s []*sample) (string, bool, string) {
		return s[0].medianText(), s[0].median() <= 20, fmt.Sprintf("running the binary at all (`--version`, which "+
			"does nothing) takes %s here; the rest is the Go runtime's start and the first exchange over the pipes", s[1].medianText())
	})
	scale := fmt.Sprintf("%d files", r.cfg.files)
	add("Watcher on "+scale+": set up within 1 s", []string{"scale/setup"}, func(s []*sample) (string, bool, string) {
		return s[0].medianText(), s[0].median() <= 1000, "one inotify watch per folder, added one by one while walking"
	})
	add("Watcher on "+scale+": trigger within 20 ms of a change", []string{"scale/trigger", "scale/first"}, func(s []*sample) (string, bool, string) {
		return fmt.Sprintf("%s (first event after %s)", s[0].medianText(), s[1].medianText()), s[0].median() <= 20,
			fmt.Sprintf("by design the watcher reports a batch only after %s of quiet (watch.Debounce), so no change can "+
				"trigger sooner than that; the event itself arrives in %s. A save in the editor (didSave) skips the debounce",
				watch.Debounce, s[1].medianText())
	})
	l := r.limit
	switch {
	case l.skipped != "":
		ts = append(ts, target{goal: "Past max_user_watches: a clear message and polling, never a silent miss", got: l.skipped})
	case l.ran:
		ok := len(l.warnings) > 0 && l.polled > 0 && l.missed == 0
		got := fmt.Sprintf("warning given: %v; %d folders polled; %d change(s) missed", len(l.warnings) > 0, l.polled, l.missed)
		ts = append(ts, target{goal: "Past max_user_watches: a clear message and polling, never a silent miss", got: got, met: judged(ok),
			why: "see section 6"})
	}
	return ts
}
