package portcheck

import "syscall"

// Unbind has nothing to do on Windows, where a child inherits only the
// handles marked for it.
func Unbind(syscall.Conn) {}
