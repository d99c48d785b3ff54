package supervisor

import "syscall"

func sysProcAttr(killWithParent bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if killWithParent {
		// If the backend dies, even by SIGKILL, the kernel kills the child.
		attr.Pdeathsig = syscall.SIGKILL
	}
	return attr
}
