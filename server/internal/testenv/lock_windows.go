package testenv

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes an exclusive lock on path, held until this process exits
// (the file stays open; the system drops the lock with the process, however
// it ends). False if another process holds it.
func lockFile(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return false
	}
	ol := new(windows.Overlapped)
	if windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol) != nil {
		f.Close()
		return false
	}
	heldLocks = append(heldLocks, f)
	return true
}
