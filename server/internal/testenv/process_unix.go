//go:build unix

package testenv

import "syscall"

// ProcessGone reports whether no process has pid.
func ProcessGone(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}
