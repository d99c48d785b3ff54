package preload

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listDirPrefix starts the name of each backend's private folder for the
// shim's module lists, followed by the backend's process id.
const listDirPrefix = "django-runserver-modules-"

// ListDir makes a private folder for the module lists of this backend's
// servers. A backend that is killed can't remove its own, so each new one
// first removes those of backends that are gone.
func ListDir() (string, error) {
	tmp := os.TempDir()
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if owner, ok := listDirOwner(e.Name()); ok && owner != os.Getpid() && !alive(owner) {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
	return os.MkdirTemp(tmp, fmt.Sprintf("%s%d-", listDirPrefix, os.Getpid()))
}

// listDirOwner is the process id in the name of a module-list folder.
func listDirOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, listDirPrefix)
	if !ok {
		return 0, false
	}
	pid, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(pid)
	return n, err == nil && n > 0
}
