package supervisor

import "syscall"

func sysProcAttr(onParentDeath ParentDeath) *syscall.SysProcAttr {
	// If the backend dies, even by SIGKILL, the kernel signals the child.
	sig := syscall.SIGKILL
	if onParentDeath == TerminateOnParentDeath {
		sig = syscall.SIGTERM
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
}
