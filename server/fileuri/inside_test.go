package fileuri

import (
	"path/filepath"
	"testing"
)

func TestInside(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "site")
	for path, want := range map[string]bool{
		"site":                true,
		"site/manage.py":      true,
		"site/..foo.py":       true, // a file whose name starts with two dots
		"site/a/../..b/c.py":  true,
		"site/../other/x.py":  false,
		"sitex/manage.py":     false,
		".":                   false,
		"elsewhere/manage.py": false,
		"site/sub/../../x.py": false,
	} {
		if got := Inside(root, filepath.Join(base, filepath.FromSlash(path))); got != want {
			t.Errorf("Inside(%s, %s) = %v, want %v", root, path, got, want)
		}
	}
	if Inside(root, filepath.FromSlash("site/manage.py")) {
		t.Error("a relative path is inside")
	}
	if Inside("", filepath.Join(root, "manage.py")) {
		t.Error("nothing is inside an empty folder name")
	}
}
