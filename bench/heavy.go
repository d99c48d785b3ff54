//go:build linux

package main

import (
	"path/filepath"
	"time"
)

// runHeavy repeats the Python-edit comparison on a generated project that
// imports far more than mysite, to show how reload cost grows with a project.
func runHeavy(cfg *config, env *env, r *report) {
	progress("heavy: generating every contrib app + %d apps × %d models", heavyApps, heavyModels)
	t0 := time.Now()
	heavy, leftOut, err := newHeavySite(cfg, env.python, "heavy-ours")
	if err != nil {
		r.fail("heavy: %v", err)
		return
	}
	r.heavyLeftOut = leftOut
	progress("heavy: generated in %s", time.Since(t0).Round(time.Millisecond))

	// One copy per server but the cold one, which runs on heavy itself.
	copies, err := newCopies([]string{"stat", "floor", "warm"}, func(key string) (*site, error) {
		return heavy.clone(filepath.Join(cfg.tmp, "heavy-"+key))
	})
	if err != nil {
		r.fail("heavy: %v", err)
		return
	}
	o, port := startOursOr(env, r, "heavy, ours", heavy.dir, "off")
	if o == nil {
		return
	}
	defer o.close()
	trials := []*trial{newTrial("heavy/fast-save", o, heavy.pyEdit(port), port)}
	warmSite := copies["warm"]
	warm, warmPort := startOursOr(env, r, "heavy, ours warm", warmSite.dir, "auto")
	if warm == nil {
		return
	}
	defer warm.close()
	trials = append(trials, newTrial("heavy/warm-save", warm, warmSite.pyEdit(warmPort), warmPort))
	plains, closePlains, ok := plainTrials(env, r, "heavy", []string{stat, noreload}, copies)
	defer closePlains()
	if !ok {
		return
	}
	trials = append(trials, plains...)
	runRounds("heavy", trials, cfg.reps, map[int]time.Time{})
	r.putTrials(trials)
	putMemMB(r, "rss/heavy", o.b.pid(), "VmHWM")
	r.notes["heavy/warm-save"] = preloadNote(warm.b)
	progress("heavy: the preloader's memory and rebuild time")
	measurePreload(r, warm.b, warmSite, warmPort, "preload/heavy", cfg.reps)
	progress("heavy: where a reload's time goes")
	measureAnatomy(r, env.python, heavy.dir, "heavysite.settings", "anatomy/heavy", cfg.reps)
}
