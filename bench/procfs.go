//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/django-runserver/django-runserver/internal/procfs"
)

// putMemMB records field of pid's /proc status (VmRSS, VmHWM) in MB as key,
// where /proc has it.
func putMemMB(r *report, key string, pid int, field string) {
	if kb, err := memKB(pid, field); err == nil {
		m := newSample("MB")
		m.add(float64(kb) / 1024)
		r.put(key, m)
	}
}

// memKB reads a field of /proc/PID/status such as VmRSS or VmHWM, in KiB.
func memKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// listenerPID returns the process whose socket listens on 127.0.0.1:port,
// or 0: under Django's own reloader that is the child that serves, not the
// parent we started.
func listenerPID(port int) int {
	want := fmt.Sprintf("0100007F:%04X", port)
	inode := ""
	if b, err := os.ReadFile("/proc/net/tcp"); err == nil {
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[1] == want && f[3] == "0A" { // 0A: LISTEN
				inode = f[9]
				break
			}
		}
	}
	if inode == "" {
		return 0
	}
	target := "socket:[" + inode + "]"
	for _, pid := range procfs.PIDs() {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && l == target {
				return pid
			}
		}
	}
	return 0
}

// pidsByComm returns the processes whose command name is name.
func pidsByComm(name string) []int {
	var out []int
	for _, pid := range procfs.PIDs() {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(b)) == name {
			out = append(out, pid)
		}
	}
	return out
}

// inotifyWatches counts the inotify watches every process holds, from the
// "inotify wd:" lines of /proc/*/fdinfo.
func inotifyWatches() int {
	n := 0
	for _, pid := range procfs.PIDs() {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); l != "anon_inode:inotify" {
				continue
			}
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
			n += strings.Count(string(b), "inotify wd:")
		}
	}
	return n
}
