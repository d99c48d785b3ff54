//go:build unix

package testenv

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path, held until this process exits
// (the file stays open; the system drops the lock with the process, however
// it ends). False if another process holds it.
func lockFile(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return false
	}
	heldLocks = append(heldLocks, f)
	return true
}
