//go:build unix

package supervisor

import (
	"os/exec"
	"syscall"
)

// tree is the child's process group: the child leads it, so signalling
// -pid reaches everything it started, including Django's own reloader child.
type tree struct{ pgid int }

func newTree(cmd *exec.Cmd) tree { return tree{pgid: cmd.Process.Pid} }

func (t tree) interrupt() error { return syscall.Kill(-t.pgid, syscall.SIGINT) }

func (t tree) kill() { _ = syscall.Kill(-t.pgid, syscall.SIGKILL) }

func (t tree) release() {}
