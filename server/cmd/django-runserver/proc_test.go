//go:build unix

package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// descendants lists pid and every process below it.
func descendants(pid int) []int {
	out, err := exec.Command("ps", "-e", "-o", "pid=,ppid=").Output()
	if err != nil {
		return []int{pid}
	}
	children := map[int][]int{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			c, _ := strconv.Atoi(f[0])
			p, _ := strconv.Atoi(f[1])
			children[p] = append(children[p], c)
		}
	}
	all := []int{pid}
	for i := 0; i < len(all); i++ {
		all = append(all, children[all[i]]...)
	}
	return all
}

func interrupt(t *testing.T, p *os.Process) {
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}
