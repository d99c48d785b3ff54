//go:build unix

package portcheck

import "syscall"

// Unbind stops a listening socket listening, to be called before it is
// closed. A child that the backend forks meanwhile holds a copy of every
// descriptor until its exec drops the close-on-exec ones; closing ours alone
// would leave the address listening, and taken, for that moment. Shutting
// the socket down acts on the socket every copy shares, so the address is
// free once it is closed. (On Linux; macOS keeps a listening socket's
// address until its last copy is closed.)
func Unbind(c syscall.Conn) {
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	}
}
