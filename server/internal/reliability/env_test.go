//go:build linux

package reliability

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/server/fileuri"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/session"
)

// Fixtures: editors, projects, settings, processes and sockets.

// newEditor serves a session in this process, where -race and goleak see
// it.
func newEditor(t testing.TB) *fakeeditor.Env { return fakeeditor.New(t, session.Serve) }

// newBinaryEditor runs the built backend, for the tests that kill it or
// close its stdin.
func newBinaryEditor(t testing.TB) *fakeeditor.Env {
	return fakeeditor.NewBinary(t, testenv.Binary(t))
}

// openTiny makes a tiny project called name at version in a temporary
// folder, and initializes a new editor on it with the settings on a free
// port and kv. The folder outlives the editor: its session ends first.
func openTiny(t testing.TB, newEd func(testing.TB) *fakeeditor.Env, name, version string, kv ...any) (dir string, port int, ed *fakeeditor.Env) {
	t.Helper()
	dir = tinyProject(t, t.TempDir(), name, version)
	port = testenv.FreePort(t)
	ed = newEd(t)
	ed.Initialize(settings(t, port, kv...), dir)
	return dir, port, ed
}

// tinyApp is a whole Django project in one module: settings, URLs and a
// view. It starts in a fraction of mysite's time, so loops of real
// start/reload/stop cycles fit in CI.
const tinyApp = `from django.http import HttpResponse
from django.urls import path

SECRET_KEY = "reliability-suite"
DEBUG = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tinyapp"
INSTALLED_APPS = []
DATABASES = {}
USE_TZ = True

VERSION = %q


def index(request):
    return HttpResponse("tiny " + VERSION)


urlpatterns = [path("", index)]
`

const tinyManage = `import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tinyapp")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
`

// tinyProject writes the tiny project into parent/name and returns its real
// path.
func tinyProject(t testing.TB, parent, name, version string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "manage.py"), tinyManage)
	setVersion(t, dir, version)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// setVersion rewrites tinyapp.py so that the server answers "tiny VERSION".
func setVersion(t testing.TB, dir, version string) string {
	t.Helper()
	p := filepath.Join(dir, "tinyapp.py")
	writeFile(t, p, fmt.Sprintf(tinyApp, version))
	return p
}

// fakeProject is a folder whose manage.py is the given Python code. The
// shim runs it as __main__, with argv [manage.py, runserver, ADDRESS, args…].
func fakeProject(t testing.TB, code string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fake")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "manage.py"), code)
	real, _ := filepath.EvalSymlinks(dir)
	return real
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// settings are the test settings: a Python with Django, a free port, and
// the given key/value pairs.
func settings(t testing.TB, port int, kv ...any) map[string]any {
	s := map[string]any{
		"python":         testenv.Python(t),
		"address":        fmt.Sprintf("127.0.0.1:%d", port),
		"onPortConflict": "fail",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		s[kv[i].(string)] = kv[i+1]
	}
	return s
}

// waitBody waits until url serves exactly want.
func waitBody(t testing.TB, url, want string, timeout time.Duration) {
	t.Helper()
	testenv.WaitServed(t, url, timeout, want, func(body string) bool { return body == want })
}

// eventually polls cond until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procStat returns a process's state letter, parent and process group,
// from /proc/PID/stat.
func procStat(pid int) (state byte, ppid, pgrp int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 3 {
		return 0, 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	return f[0][0], ppid, pgrp, true
}

// described names each of pids with its state, parent and process group,
// and what it runs, for a failure message.
func described(pids []int) string {
	var out []string
	for _, pid := range pids {
		st, ppid, pgrp, ok := procStat(pid)
		if !ok {
			out = append(out, fmt.Sprintf("%d (gone)", pid))
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, fmt.Sprintf("%d (state %c, parent %d, group %d: %s)", pid, st, ppid, pgrp,
			strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))))
	}
	return strings.Join(out, "; ")
}

// descendants lists pid and every live process below it.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		if child, err := strconv.Atoi(e.Name()); err == nil {
			if st, ppid, _, ok := procStat(child); ok && st != 'Z' && st != 'X' {
				children[ppid] = append(children[ppid], child)
			}
		}
	}
	all := []int{pid}
	for i := 0; i < len(all); i++ {
		all = append(all, children[all[i]]...)
	}
	return all
}

// allGone reports whether none of pids runs.
func allGone(pids []int) bool {
	for _, pid := range pids {
		if !gone(pid) {
			return false
		}
	}
	return true
}

// gone reports whether pid no longer runs.
func gone(pid int) bool {
	return pid <= 0 || testenv.ProcessGone(pid)
}

// pids lists the live processes whose command line contains substr, or
// whose process group is pgid (when pgid > 0).
func pids(substr string, pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		st, _, pg, ok := procStat(pid)
		if !ok || st == 'Z' || st == 'X' {
			continue
		}
		if pgid > 0 && pg == pgid {
			out = append(out, pid)
			continue
		}
		if substr != "" {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if strings.Contains(string(cmdline), substr) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// openFDs counts this process's open file descriptors.
func openFDs() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	return len(entries)
}

// peakRSSKiB is a process's peak resident memory (VmHWM), in KiB.
func peakRSSKiB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return -1
}

// listeners returns the local addresses listening on port, from
// /proc/net/tcp and tcp6, as "IP" strings.
func listeners(port int) []string {
	var out []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A is LISTEN
				continue
			}
			host, p, ok := strings.Cut(f[1], ":")
			if !ok {
				continue
			}
			if n, err := strconv.ParseInt(p, 16, 32); err != nil || int(n) != port {
				continue
			}
			out = append(out, hexIP(host))
		}
	}
	return out
}

// hexIP decodes /proc/net/tcp's little-endian hex addresses.
func hexIP(h string) string {
	var b []byte
	for i := 0; i+8 <= len(h); i += 8 {
		w, _ := strconv.ParseUint(h[i:i+8], 16, 32)
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	switch len(b) {
	case 4:
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	case 16:
		if strings.Repeat("0", 32) == h {
			return "::"
		}
		if h == "00000000000000000000000001000000" {
			return "::1"
		}
		return "ipv6:" + h
	}
	return h
}

func killPID(t testing.TB, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
}

func fileURIOf(path string) string { return fileuri.FromPath(path) }
