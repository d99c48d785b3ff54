package supervisor

import (
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// tree is a Job Object holding the child and everything it starts. The job
// kills them all when its last handle closes, so they die with the backend.
type tree struct {
	job windows.Handle
	pid int
}

func sysProcAttr(ParentDeath) *syscall.SysProcAttr {
	// A new process group lets us send CTRL_BREAK to the child alone.
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

func newTree(pid int) tree {
	t := tree{pid: pid}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return t
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return t
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(t.pid))
	if err != nil {
		windows.CloseHandle(job)
		return t
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		windows.CloseHandle(job)
		return t
	}
	t.job = job
	return t
}

func (t tree) interrupt() error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(t.pid))
}

func (t tree) kill() {
	if t.job != 0 {
		_ = windows.TerminateJobObject(t.job, 1)
		return
	}
	if p, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(t.pid)); err == nil {
		_ = windows.TerminateProcess(p, 1)
		windows.CloseHandle(p)
	}
}

func (t tree) release() {
	if t.job != 0 {
		windows.CloseHandle(t.job)
	}
}

// KillGroupOnCancel leaves cmd as it is: when its context ends, exec
// terminates the process itself.
func KillGroupOnCancel(*exec.Cmd) {}
