//go:build linux

// Package procfs reads what the benchmark and the tests measure of running
// processes from Linux's /proc: process trees and their on-CPU time.
package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// PIDs lists every process id in /proc.
func PIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// StatFields returns the fields of /proc/PID/stat after the command name
// (which may hold spaces): index 0 is the state, 1 the parent pid.
func StatFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// Tree returns root and all of its descendants.
func Tree(root int) []int {
	children := map[int][]int{}
	for _, pid := range PIDs() {
		if f := StatFields(pid); len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// CPUTime sums the on-CPU time of every thread of pids, from
// /proc/PID/task/TID/schedstat. Its resolution is a nanosecond, where
// utime+stime in /proc/PID/stat counts 10 ms ticks: too coarse for idle
// processes measured over one-second windows. Threads that exit within a
// window are not counted; idle servers start none.
func CPUTime(pids ...int) time.Duration {
	var total int64
	for _, pid := range pids {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			if f := strings.Fields(string(b)); len(f) > 0 {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				total += ns
			}
		}
	}
	return time.Duration(total)
}
