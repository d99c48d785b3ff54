//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// anatomyProbe loads a project as runserver does (setup, system checks, the
// URLconf), then does the two things Django's own reloader does on a reload
// and our shim keeps off its path: it lists and resolves every watched file,
// and it exits with code 3 through Python's normal shutdown, as Django's
// trigger_reload does. The parent times the exit from the moment the child
// announces it.
const anatomyProbe = `
import os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
os.environ['DJANGO_SETTINGS_MODULE'] = sys.argv[2]
import django
django.setup()
from django.core import checks
checks.run_checks()
from django.urls import get_resolver
get_resolver().url_patterns
from django.utils import autoreload
reloader = autoreload.StatReloader()
t = time.perf_counter()
files = {Path(p).resolve() for p in reloader.watched_files(include_globs=False)}
print('resolved', len(files), (time.perf_counter() - t) * 1000, flush=True)
print('exiting', flush=True)
sys.exit(3)
`

// measureAnatomy runs the probe reps+1 times on a project and records how
// long resolving the watched files and the interpreter's exit take, under
// prefix/resolve and prefix/exit.
func measureAnatomy(r *report, py, dir, settings, prefix string, reps int) {
	resolve, exit := newSample("ms"), newSample("ms")
	for i := 0; i <= reps; i++ {
		res, ex, err := runAnatomyProbe(py, dir, settings)
		if err != nil {
			r.fail("%s: the anatomy probe: %v", prefix, err)
			return
		}
		if i > 0 {
			resolve.add(res)
			exit.addDuration(ex)
		}
	}
	r.put(prefix+"/resolve", resolve)
	r.put(prefix+"/exit", exit)
}

func runAnatomyProbe(py, dir, settings string) (resolveMs float64, exit time.Duration, err error) {
	cmd := exec.Command(py, "-c", anatomyProbe, dir, settings)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	stderr := &tail{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	var exiting time.Time
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "resolved":
			resolveMs, _ = strconv.ParseFloat(f[2], 64)
		case len(f) == 1 && f[0] == "exiting":
			exiting = time.Now()
		}
	}
	werr := cmd.Wait()
	exit = time.Since(exiting)
	if exiting.IsZero() || cmd.ProcessState.ExitCode() != 3 {
		return 0, 0, fmt.Errorf("did not exit with code 3 (%v)%s", werr, stderr.text())
	}
	return resolveMs, exit, nil
}
