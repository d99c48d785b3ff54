//go:build unix

package preload

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A backend that was killed leaves its module lists behind; the next one
// removes them, and only them.
func TestListDirRemovesThoseOfGoneBackends(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{ // folder: whether it must stay
		fmt.Sprintf("%s%d-123", listDirPrefix, gone.Process.Pid): false,
		fmt.Sprintf("%s%d-456", listDirPrefix, os.Getppid()):     true, // a live backend's
		fmt.Sprintf("%s%d-789", listDirPrefix, os.Getpid()):      true, // our own
		"django-runserver-modules-notapid":                       true,
		"someone-else":                                           true,
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(tmp, d, "modules"), []byte("django\n"), 0o600)
	}
	dir, err := ListDir()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != tmp || !strings.HasPrefix(filepath.Base(dir), fmt.Sprintf("%s%d-", listDirPrefix, os.Getpid())) {
		t.Errorf("ListDir made %s, want a folder of this process in %s", dir, tmp)
	}
	for d, stays := range dirs {
		_, err := os.Stat(filepath.Join(tmp, d))
		if exists := err == nil; exists != stays {
			t.Errorf("%s: exists %v, want %v", d, exists, stays)
		}
	}
}
