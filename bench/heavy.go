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
	heavy, leftOut, err := newHeavySite(cfg, env.python)
	if err != nil {
		r.fail("heavy: %v", err)
		return
	}
	r.heavyLeftOut = leftOut
	progress("heavy: generated in %s", time.Since(t0).Round(time.Millisecond))

	// One copy per server, made before any runs, so each server sees only
	// its own edits.
	copies := map[string]*site{}
	for _, key := range []string{"stat", "floor", "warm"} {
		if copies[key], err = heavy.clone(filepath.Join(cfg.tmp, "heavy-"+key)); err != nil {
			r.fail("heavy: %v", err)
			return
		}
	}
	o, port, err := startOurs(env, heavy.dir, "off")
	if err != nil {
		r.fail("heavy, ours: %v", err)
		return
	}
	defer o.close()
	trials := []*trial{newTrial("heavy/fast-save", o, heavy.pyEdit(port), port)}
	warmSite := copies["warm"]
	warm, warmPort, err := startOurs(env, warmSite.dir, "auto")
	if err != nil {
		r.fail("heavy, ours warm: %v", err)
		return
	}
	defer warm.close()
	trials = append(trials, newTrial("heavy/warm-save", warm, warmSite.pyEdit(warmPort), warmPort))
	var plains []*plain
	defer func() {
		for _, p := range plains {
			p.close()
		}
	}()
	if !eachDjango(env, r, "heavy", []string{stat, noreload},
		func(key string) (*site, error) { return copies[key], nil }, startPlainEditing(env),
		func(key string, p *plain, s *site, port int) {
			plains = append(plains, p)
			trials = append(trials, newTrial("heavy/"+key, p, s.pyEdit(port), port))
		}) {
		return
	}
	runRounds("heavy", trials, cfg.reps, map[int]time.Time{})
	r.putTrials(trials)
	putMemMB(r, "rss/heavy", o.b.pid(), "VmHWM")
	r.notes["heavy/warm-save"] = preloadNote(warm.b)
	progress("heavy: the preloader's memory and rebuild time")
	measurePreload(r, warm.b, warmSite, warmPort, "preload/heavy", cfg.reps)
	progress("heavy: where a reload's time goes")
	measureAnatomy(r, env.python, heavy.dir, "heavysite.settings", "anatomy/heavy", cfg.reps)
}
