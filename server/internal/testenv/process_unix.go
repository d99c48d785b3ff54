//go:build unix

package testenv

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// ProcessGone reports whether pid has exited. A zombie has, once its last
// thread is gone: it then holds no memory, files or ports, and waits only for
// whoever adopted it to reap it, which some init processes do seconds later.
func ProcessGone(pid int) bool {
	if zombie(pid) {
		return true
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// zombie reads Linux's /proc; elsewhere it reports false.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses. A thread
	// group leader shows Z while its other threads still exit.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || !strings.HasPrefix(string(stat[i+1:]), " Z") {
		return false
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return err == nil && len(tasks) <= 1
}
