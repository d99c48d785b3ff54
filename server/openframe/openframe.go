// Package openframe is the backend's side of a page's click on a
// traceback frame (contract.OpenPath): the checks a request must pass
// before anything opens, and the path check the backend repeats on what a
// server process asks it to open.
//
// The rules, the same as page.py's: only a POST, from the page's own
// origin, carrying the page's per-process token, for a file that resolves
// (symlinks followed) inside the workspace folder. Anything else is 403
// and opens nothing.
package openframe

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// maxBody bounds a request's body: a path and a line.
const maxBody = 64 << 10

// NewToken returns a fresh per-process token.
func NewToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a page token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Read checks r as an open request for a page served with token, and
// returns the file it may open, resolved inside workspace, and its line.
// An error says why it is refused (403).
func Read(r *http.Request, token, workspace string) (file string, line int, err error) {
	if r.Method != http.MethodPost {
		return "", 0, errors.New("only POST opens a file")
	}
	if err := SameOrigin(r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"), r.Host); err != nil {
		return "", 0, err
	}
	if err := ReachedByAddress(r.Host); err != nil {
		return "", 0, err
	}
	got := r.Header.Get(contract.OpenTokenHeader)
	if token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return "", 0, errors.New("the page's token is missing or wrong")
	}
	var req contract.OpenRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		return "", 0, fmt.Errorf("the body is not an open request: %w", err)
	}
	file, err = Resolve(workspace, req.File)
	if err != nil {
		return "", 0, err
	}
	if req.Line < 1 {
		return "", 0, fmt.Errorf("line %d is not a line", req.Line)
	}
	return file, req.Line, nil
}

// SameOrigin accepts a request whose Origin is the host it was sent to
// (over http: the servers only speak it), or, without an Origin, one the
// browser marks same-origin. A browser sends Origin on every POST it
// makes for a script, so a POST with neither is not the page's.
func SameOrigin(origin, fetchSite, host string) error {
	if fetchSite != "" && fetchSite != "same-origin" {
		return fmt.Errorf("the request came from another site (Sec-Fetch-Site: %s)", fetchSite)
	}
	if origin != "" {
		if host == "" || origin != "http://"+host {
			return fmt.Errorf("the request came from %s, not from this server's pages", origin)
		}
		return nil
	}
	if fetchSite != "same-origin" {
		return errors.New("the request says neither its Origin nor that it is same-origin")
	}
	return nil
}

// ReachedByAddress accepts a Host that is an IP address or localhost (or
// a name under .localhost, which browsers resolve themselves). Another
// site's name that resolves here (DNS rebinding) would make its pages
// same-origin with ours, able to read a page's token; no DNS answer can
// make a page's origin an IP address.
func ReachedByAddress(host string) error {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	if net.ParseIP(name) != nil || name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return nil
	}
	return fmt.Errorf("the page was reached by the name %q: only pages reached by an IP address or localhost open files, so that no other site's name can point here", name)
}

// Resolve returns file, relative to workspace or absolute, as a real path
// (symlinks followed), if it is a regular file inside workspace's real
// path.
func Resolve(workspace, file string) (string, error) {
	if workspace == "" || file == "" {
		return "", errors.New("no file, or no workspace folder")
	}
	root, err := filepath.EvalSymlinks(workspace)
	if err != nil {
		return "", fmt.Errorf("the workspace folder: %w", err)
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(root, file)
	}
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return "", fmt.Errorf("no such file: %w", err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", err
	}
	if !fileuri.Inside(root, real) {
		return "", fmt.Errorf("%s is outside the workspace folder %s", real, root)
	}
	if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a file", real)
	}
	return real, nil
}

// Copy is what a page copies for file at line when no editor opens it.
func Copy(file string, line int) string { return file + ":" + strconv.Itoa(line) }

// Refuse answers a refused request: 403, with why, as text.
func Refuse(w http.ResponseWriter, why error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "Forbidden: django-runserver opens nothing for this request: %v.\n", why)
}

// Reply answers an accepted request.
func Reply(w http.ResponseWriter, reply contract.OpenReply) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(reply)
}
