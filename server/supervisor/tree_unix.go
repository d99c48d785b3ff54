//go:build unix

package supervisor

import (
	"os/exec"
	"syscall"
)

// tree is the child's process group: the child leads it, so signalling
// -pid reaches everything it started, including Django's own reloader child.
type tree struct{ pgid int }

func newTree(pid int) tree { return tree{pgid: pid} }

func (t tree) interrupt() error { return syscall.Kill(-t.pgid, syscall.SIGINT) }

func (t tree) kill() { _ = killGroup(t.pgid) }

func (t tree) release() {}

// killGroup kills every process of the group pgid leads.
func killGroup(pgid int) error { return syscall.Kill(-pgid, syscall.SIGKILL) }

// KillGroupOnCancel makes cmd lead its own process group, and kills the
// whole group when cmd's context ends: what cmd started goes with it.
func KillGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
}
