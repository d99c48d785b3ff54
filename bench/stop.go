//go:build linux

package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// runStop times a stop until the port can be bound again: our runserver/stop
// request, and Ctrl-C (SIGINT to the process group) on plain runserver under
// the StatReloader, what a developer does in a terminal. The two alternate,
// on the same port. Ours is stopped at least minStops times: a stop that
// waits out the kill fallback is rare, and the maximum must show it.
// minStops is how many of our stops a full run measures.
const minStops = 50

func runStop(cfg *config, env *env, r *report) {
	progress("stop: ours (runserver/stop) and Django StatReloader (Ctrl-C), in turn")
	site, port, err := withFreePort(newSampleSite(cfg, "mysite-stop"))
	if err != nil {
		r.fail("stop: %v", err)
		return
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	b, err := startBackend(env.bin, site.dir, oursSettings(env, port, "auto")) // auto: the default
	if err != nil {
		r.fail("stop, ours: %v", err)
		return
	}
	defer (&ours{b: b}).close()

	free, reply, ctrlC := newSample("ms"), newSample("ms"), newSample("ms")
	oursErr, djangoErr := error(nil), error(nil)
	oursReps := cfg.reps
	if !cfg.smoke {
		oursReps = max(oursReps, minStops)
	}
	for i := 0; i <= oursReps; i++ {
		if oursErr == nil {
			var f, rp time.Duration
			f, rp, oursErr = stopOurs(b, addr)
			if i > 0 && oursErr == nil {
				free.addDuration(f)
				reply.addDuration(rp)
			}
		}
		if djangoErr == nil && i <= cfg.reps {
			var d time.Duration
			d, djangoErr = stopDjango(env.python, site, port, addr)
			if i > 0 && djangoErr == nil {
				ctrlC.addDuration(d)
			}
		}
	}
	if oursErr != nil {
		r.fail("stop, ours: %v", oursErr)
	} else {
		r.put("stop/ours", free)
		r.put("stop/ours-reply", reply)
	}
	if djangoErr != nil {
		r.fail("stop, StatReloader: %v", djangoErr)
	} else {
		r.put("stop/stat", ctrlC)
	}
}

// stopOurs starts our server, then times runserver/stop until its reply and
// until the port binds.
func stopOurs(b *backend, addr string) (free, reply time.Duration, err error) {
	if err := b.startServer(); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := b.stopServer(); err != nil {
		return 0, 0, err
	}
	reply = time.Since(t0)
	t1, err := bindableWithin(addr)
	return t1.Sub(t0), reply, err
}

// stopDjango starts plain runserver under the StatReloader, then times
// Ctrl-C until the port binds.
func stopDjango(py string, s *site, port int, addr string) (time.Duration, error) {
	p, err := startPlain(py, s.dir, port, stat, s.pyEdit(port).url)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	p.d.signal(syscall.SIGINT)
	t1, err := bindableWithin(addr)
	select {
	case <-p.d.exited:
	case <-time.After(10 * time.Second):
		p.d.kill()
	}
	return t1.Sub(t0), err
}

func bindableWithin(addr string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return waitBindable(ctx, addr)
}
