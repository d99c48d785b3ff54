//go:build !linux

package watch

// platformFacts knows nothing here: the OS's file events (kqueue,
// ReadDirectoryChangesW) are used, and the log suggests polling if saves
// are missed.
func platformFacts(string) facts { return facts{} }
