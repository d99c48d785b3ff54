package parse

import "strings"

// ServerURL returns the URL of runserver's banner line
// "Starting development server at http://127.0.0.1:8000/".
func ServerURL(line string) (url string, ok bool) {
	const prefix = "Starting development server at "
	i := strings.Index(line, prefix)
	if i < 0 {
		return "", false
	}
	url = strings.TrimSpace(line[i+len(prefix):])
	return url, strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")
}

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
