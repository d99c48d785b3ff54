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

// preloadedLine is the backend's log line for a ready preloader: how long
// it took from the server's serving, and the preloader's pid.
var preloadedLine = regexp.MustCompile(`preloaded \d+ modules in (\d+) ms \(pid (\d+)\)`)

// preloads are the preloaders the backend has reported ready so far: build
// times and pids, oldest first.
func (b *backend) preloads() (built []float64, pids []int) {
	for _, text := range fakeeditor.Texts(b.Since(0), protocol.MethodLogMessage) {
		if m := preloadedLine.FindStringSubmatch(text); m != nil {
			ms, _ := strconv.ParseFloat(m[1], 64)
			pid, _ := strconv.Atoi(m[2])
			built, pids = append(built, ms), append(pids, pid)
		}
	}
	return built, pids
}

// awaitPreload waits until the backend has reported more than n
// preloaders ready.
func (b *backend) awaitPreload(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if built, _ := b.preloads(); len(built) > n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no preloader was ready within %s%s", timeout, b.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// measurePreload records, under prefix, what a warm server's preloader
// costs once the edits are done: its resident memory beside the server's
// (Django alone), and the time to build a new one after something it
// imported changed, reps times. A change of the env setting stands for
// that change: like a package upgraded in the venv, it makes the next
// reload cold and the preloader rebuilt once that server serves. (An edit
// of settings.py needs no rebuild: the preloader holds nothing of the
// project.)
func measurePreload(r *report, b *backend, s *site, port int, settings map[string]any, prefix string, reps int) {
	_, pids := b.preloads()
	st, err := b.waitState(protocol.StateRunning, 60*time.Second)
	if err != nil || len(pids) == 0 {
		r.fail("%s: no preloader to measure: %v", prefix, err)
		return
	}
	rss := map[string]int{prefix + "/rss": pids[len(pids)-1], prefix + "/rss-django": st.PID}
	for key, pid := range rss {
		if kb, err := memKB(pid, "VmRSS"); err == nil {
			m := newSample("MB")
			m.add(float64(kb) / 1024)
			r.put(key, m)
		}
	}
	e := s.pyEdit(port)
	rebuild := newSample("ms")
	for i := range reps {
		before, _ := b.preloads()
		env := map[string]any{"DJANGO_RUNSERVER_BENCH_REBUILD": strconv.Itoa(i)}
		next := map[string]any{}
		for k, v := range settings {
			next[k] = v
		}
		next["env"] = env
		if err := b.Configure(next); err != nil {
			r.fail("%s: %v", prefix, err)
			return
		}
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
			err = b.awaitPreload(len(before), 60*time.Second)
		}
		if err != nil {
			r.fail("%s: rebuild: %v", prefix, err)
			return
		}
		built, _ := b.preloads()
		rebuild.add(built[len(built)-1])
	}
	r.put(prefix+"/rebuild", rebuild)
}

// preloadNote says how often a warm trial's reloads really were warm.
func preloadNote(b *backend) string {
	warm, cold := 0, 0
	var reasons []string
	for _, st := range fakeeditor.Statuses(b.Since(0), "") {
		if st.State != protocol.StateRunning || st.Reloads == 0 {
			continue
		}
		switch st.Start {
		case protocol.StartWarm:
			warm++
		case protocol.StartCold:
			cold++
			reasons = append(reasons, st.ColdReason)
		}
	}
	note := fmt.Sprintf("%d warm, %d cold", warm, cold)
	if len(reasons) > 0 {
		note += " (" + strings.Join(reasons, "; ") + ")"
	}
	return note
}
