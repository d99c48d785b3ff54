package fileuri

import (
	"path/filepath"
	"testing"
)

func TestInside(t *testing.T) {
	root := filepath.FromSlash("/work/site")
	for path, want := range map[string]bool{
		"/work/site":                true,
		"/work/site/manage.py":      true,
		"/work/site/..foo.py":       true, // a file whose name starts with two dots
		"/work/site/a/../..b/c.py":  true,
		"/work/site/../other/x.py":  false,
		"/work/sitex/manage.py":     false,
		"/work":                     false,
		"/elsewhere/manage.py":      false,
		"relative/manage.py":        false,
		"/work/site/sub/../../x.py": false,
	} {
		if got := Inside(root, filepath.FromSlash(path)); got != want {
			t.Errorf("Inside(%s, %s) = %v, want %v", root, path, got, want)
		}
	}
	if Inside("", filepath.FromSlash("/work/site/manage.py")) {
		t.Error("nothing is inside an empty folder name")
	}
}
