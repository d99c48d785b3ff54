//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
)

// preloadedLine is the backend's log line for a ready preloader: whether
// it set Django up ahead (the second level), how long it took from the
// server's serving, and the preloader's pid.
var preloadedLine = regexp.MustCompile(`(set Django up ahead: )?preloaded \d+ modules in (\d+) ms \(pid (\d+)\)`)

// preloader is one preloader the backend reported ready.
type preloader struct {
	setup bool // the second level: Django set up too
	ms    float64
	pid   int
}

// preloads are the preloaders the backend has reported ready so far,
// oldest first.
func (b *backend) preloads() []preloader {
	var ps []preloader
	for _, text := range fakeeditor.Texts(b.Since(0), protocol.MethodLogMessage) {
		if m := preloadedLine.FindStringSubmatch(text); m != nil {
			ms, _ := strconv.ParseFloat(m[2], 64)
			pid, _ := strconv.Atoi(m[3])
			ps = append(ps, preloader{setup: m[1] != "", ms: ms, pid: pid})
		}
	}
	return ps
}

// latest is the newest preloader of the level setup, after the first n.
func latest(ps []preloader, n int, setup bool) (preloader, bool) {
	for i := len(ps) - 1; i >= n; i-- {
		if ps[i].setup == setup {
			return ps[i], true
		}
	}
	return preloader{}, false
}

// awaitPreload waits until the backend has reported a preloader of the
// level setup ready, after the first n.
func (b *backend) awaitPreload(n int, setup bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, ok := latest(b.preloads(), n, setup); ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no preloader was ready within %s%s", timeout, b.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refusedLine is the backend's log line for a preloader level it could
// not build: the first ("cannot preload") or the second ("cannot set Django
// up ahead").
var refusedLine = regexp.MustCompile(`cannot (preload|set Django up ahead)`)

// refusals are the backend's lines about preloader levels it could not
// build, oldest first.
func (b *backend) refusals() []string {
	var lines []string
	for _, text := range fakeeditor.Texts(b.Since(0), protocol.MethodLogMessage) {
		if refusedLine.MatchString(text) {
			lines = append(lines, text)
		}
	}
	return lines
}

// awaitPreloadsSettled waits until the backend has built the second
// preloader level, or said why it could not: reloads then come from the
// best level this project allows, as a developer's do.
func (b *backend) awaitPreloadsSettled(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, ok := latest(b.preloads(), 0, true); ok || len(b.refusals()) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no preloader was ready, or refused, within %s%s", timeout, b.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// measurePreload records, under prefix, what a warm server's preloaders
// cost once the edits are done: their resident memory beside the server's
// (Django alone), and the time to build the second level again after an
// edit of settings.py, reps times. That edit makes the next reload fork
// from the first level, which has no project code, and the second is
// rebuilt once that server serves.
func measurePreload(r *report, b *backend, s *site, port int, prefix string, reps int) {
	st, err := b.waitState(protocol.StateRunning, 60*time.Second)
	if err == nil {
		err = b.awaitPreload(0, true, 60*time.Second)
	}
	if err != nil {
		r.fail("%s: no preloaders to measure: %v", prefix, err)
		return
	}
	ps := b.preloads()
	modules, _ := latest(ps, 0, false)
	setup, _ := latest(ps, 0, true)
	rss := map[string]int{prefix + "/rss": modules.pid, prefix + "/rss-setup": setup.pid, prefix + "/rss-django": st.PID}
	for key, pid := range rss {
		putMemMB(r, key, pid, "VmRSS")
	}
	e := s.pyEdit(port)
	rebuild := newSample("ms")
	for i := range reps {
		before := len(b.preloads())
		if err := appendFile(s.settings, fmt.Sprintf("\n# benchmark: settings edit %d\n", i)); err != nil {
			r.fail("%s: %v", prefix, err)
			return
		}
		// The view's edit too, so the reload is seen served.
		*e.n++
		text, marker := e.content(*e.n)
		if err := os.WriteFile(e.file, []byte(text), 0o644); err != nil {
			r.fail("%s: %v", prefix, err)
			return
		}
		if err := b.didSave(e.file); err != nil {
			r.fail("%s: %v", prefix, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), missAfter)
		_, err := waitServed(ctx, e.url, marker)
		cancel()
		if err == nil {
			err = b.awaitPreload(before, true, 60*time.Second)
		}
		if err != nil {
			r.fail("%s: rebuild: %v", prefix, err)
			return
		}
		built, _ := latest(b.preloads(), before, true)
		rebuild.add(built.ms)
	}
	r.put(prefix+"/rebuild", rebuild)
}

// preloadNote says how often a warm trial's reloads really were warm, and
// from which level: the second (Django set up ahead, which the status's
// setUpAhead says) or the first (modules only, with the backend's reason).
func preloadNote(b *backend) string {
	warm, setUp, cold := 0, 0, 0
	var reasons []string
	for _, st := range fakeeditor.Statuses(b.Since(0), "") {
		if st.State != protocol.StateRunning || st.Reloads == 0 {
			continue
		}
		switch st.Start {
		case protocol.StartWarm:
			warm++
			if st.SetUpAhead {
				setUp++
			}
		case protocol.StartCold:
			cold++
			reasons = append(reasons, st.ColdReason)
		}
	}
	note := fmt.Sprintf("%d warm (%d from level 2, Django set up ahead; %d from level 1, modules only), %d cold", warm, setUp, warm-setUp, cold)
	if len(reasons) > 0 {
		note += " (" + strings.Join(reasons, "; ") + ")"
	}
	if refused := b.refusals(); warm > setUp && len(refused) > 0 {
		note += "; the backend said: " + refused[len(refused)-1]
	}
	return note
}
