//go:build unix

package preload

import (
	"syscall"
	"time"
)

// rights is the control message that passes fds to the preloader.
func rights(fds ...int) []byte { return syscall.UnixRights(fds...) }

// goneCheck is how often awaitGone looks for a child whose preloader died.
const goneCheck = 50 * time.Millisecond

// awaitGone returns once no process has the id pid: after its preloader
// died, a forked server is its init's to reap, not ours.
func awaitGone(pid int) {
	t := time.NewTicker(goneCheck)
	defer t.Stop()
	for syscall.Kill(pid, 0) != syscall.ESRCH {
		<-t.C
	}
}

// adopt returns the wait of pid, a sibling of the preloader and so our own
// child, after making sure it leads its own process group (it does so too:
// whichever runs first).
func adopt(pid int) func() int {
	_ = syscall.Setpgid(pid, pid)
	return func() int {
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(pid, &ws, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
		if ws.Exited() {
			return ws.ExitStatus()
		}
		return -1
	}
}

// alive reports whether a process with the id pid exists: one of another
// user's counts too (EPERM), so its folder is left alone.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) != syscall.ESRCH
}
