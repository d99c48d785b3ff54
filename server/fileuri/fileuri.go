// Package fileuri converts between file:// URIs, as editors send them, and
// local paths, and tells which paths lie inside a folder.
package fileuri

import (
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
)

// FromPath turns an absolute path into a file:// URI.
func FromPath(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x on Windows
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// ToPath turns a file:// URI into a clean absolute path. Other schemes,
// relative paths and malformed URIs are errors that say what was expected.
func ToPath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid URI: %v", uri, err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("%q is not a file:// URI: only local folders can run a server", uri)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%q names host %q: only local folders can run a server", uri, u.Host)
	}
	p := u.Path
	if p == "" {
		p = u.Opaque
	}
	if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:] // /c:/Users → c:/Users
	}
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute file:// URI", uri)
	}
	return filepath.Clean(p), nil
}

// Inside reports whether path is folder itself or lies below it. Both are
// taken as they are (clean, absolute, real paths). A file named "..foo.py"
// in folder is inside; only a path that climbs out with a ".." element is not.
func Inside(folder, path string) bool {
	if folder == "" || !filepath.IsAbs(path) {
		return false
	}
	rel, err := filepath.Rel(folder, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
