//go:build unix

package testenv

import (
	"os"
	"syscall"
)

// tryLock takes an exclusive lock on f without waiting; the system drops it
// when the file is closed or the process ends, however it ends.
func tryLock(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
