package parse

import "strings"

// ReloaderStarted reports whether line is Django's "Watching for file changes
// with StatReloader" line, printed by every new server process its own
// reloader starts.
func ReloaderStarted(line string) bool {
	return strings.Contains(line, "Watching for file changes with ")
}

// ReloadTriggered returns the file of Django's "/path/views.py changed,
// reloading." line.
func ReloadTriggered(line string) (path string, ok bool) {
	const suffix = " changed, reloading."
	line = strings.TrimRight(line, " \r")
	if !strings.HasSuffix(line, suffix) {
		return "", false
	}
	path = strings.TrimSpace(strings.TrimSuffix(line, suffix))
	return path, path != ""
}
