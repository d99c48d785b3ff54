//go:build linux

package main

import (
	"time"
)

// runBackendCost spawns the backend reps+1 times, as an editor does on
// opening a folder, and times each spawn until the initialize reply; it then
// reads the backend's peak RSS at rest, before any server runs.
func runBackendCost(cfg *config, env *env, r *report) {
	progress("backend: initialize and RSS at rest")
	site, err := newSampleSite(cfg, "mysite-backend")
	if err != nil {
		r.fail("backend: %v", err)
		return
	}
	initTime, hwm := newSample("ms"), newSample("MB")
	for i := 0; i <= cfg.reps; i++ {
		b, err := startBackend(env.bin, site.dir, map[string]any{"python": env.python, "reload": "fast"})
		if err != nil {
			r.fail("backend: %v", err)
			return
		}
		// At rest: initialized, folders announced, nothing running.
		time.Sleep(300 * time.Millisecond)
		kb, err := memKB(b.pid(), "VmHWM")
		if err := b.shutdown(); err != nil {
			r.fail("backend: %v", err)
			return
		}
		if err != nil {
			r.fail("backend: %v", err)
			return
		}
		if i > 0 {
			initTime.addDuration(b.initTime)
			hwm.add(float64(kb) / 1024)
		}
	}
	r.put("init", initTime)
	r.put("rss/rest", hwm)

	// The floor under initialize: the binary started and gone, doing nothing.
	exec := newSample("ms")
	for i := 0; i <= cfg.reps; i++ {
		t0 := time.Now()
		if out, err := output(env.bin, "--version"); err != nil {
			r.fail("backend: %s --version: %v %s", env.bin, err, out)
			return
		}
		if i > 0 {
			exec.addDuration(time.Since(t0))
		}
	}
	r.put("init/exec", exec)
}
