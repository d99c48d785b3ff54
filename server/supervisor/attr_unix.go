//go:build unix && !linux

package supervisor

import "syscall"

// sysProcAttr has no parent-death signal here; the shim's stdin watch ends
// the tree when the backend dies.
func sysProcAttr(ParentDeath) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
