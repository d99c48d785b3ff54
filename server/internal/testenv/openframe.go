package testenv

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/server/contract"
)

// OpenAttempt is one request to a page's open endpoint
// (contract.OpenPath), as a browser or an attacker sends it.
type OpenAttempt struct {
	Name      string
	Method    string
	Origin    string // "" sends none
	FetchSite string // Sec-Fetch-Site; "" sends none
	Token     string // "" sends none
	Host      string // "" sends base's
	File      string
	Line      int
}

// Send sends a to the server at base ("http://127.0.0.1:PORT") and
// returns the status and body.
func (a OpenAttempt) Send(t testing.TB, base string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(contract.OpenRequest{File: a.File, Line: a.Line})
	req, err := http.NewRequest(a.Method, base+contract.OpenPath, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.Host != "" {
		req.Host = a.Host
	}
	if a.Origin != "" {
		req.Header.Set("Origin", a.Origin)
	}
	if a.FetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", a.FetchSite)
	}
	if a.Token != "" {
		req.Header.Set(contract.OpenTokenHeader, a.Token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// RefusedOpens are requests that must open nothing, for a page of base
// with token, in the workspace ws, where ok is a file inside it: each
// differs from a good request in one way. It makes, beside ws, a file
// outside it, and inside it a symlink to that file.
func RefusedOpens(t testing.TB, base, token, ws, ok string) []OpenAttempt {
	t.Helper()
	outside := filepath.Join(filepath.Dir(ws), "outside.py")
	if err := os.WriteFile(outside, []byte("SECRET = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(ws, "link.py")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	good := OpenAttempt{Method: http.MethodPost, Origin: base, Token: token, File: ok, Line: 1}
	with := func(name string, change func(a *OpenAttempt)) OpenAttempt {
		a := good
		a.Name = name
		change(&a)
		return a
	}
	return []OpenAttempt{
		with("cross-origin", func(a *OpenAttempt) { a.Origin = "http://evil.example" }),
		with("a name that resolves here (DNS rebinding)", func(a *OpenAttempt) {
			a.Host = "rebind.example" + base[strings.LastIndex(base, ":"):]
			a.Origin = "http://" + a.Host
		}),
		with("cross-site fetch without Origin", func(a *OpenAttempt) { a.Origin, a.FetchSite = "", "cross-site" }),
		with("same-origin Origin, cross-site fetch", func(a *OpenAttempt) { a.FetchSite = "cross-site" }),
		with("neither Origin nor Sec-Fetch-Site", func(a *OpenAttempt) { a.Origin = "" }),
		with("missing token", func(a *OpenAttempt) { a.Token = "" }),
		with("wrong token", func(a *OpenAttempt) { a.Token = strings.Repeat("0", len(token)) }),
		with("GET", func(a *OpenAttempt) { a.Method = http.MethodGet }),
		with("absolute path outside", func(a *OpenAttempt) { a.File = outside }),
		with("system file", func(a *OpenAttempt) { a.File = "/etc/passwd" }),
		with("relative .. escape", func(a *OpenAttempt) { a.File = "../outside.py" }),
		with("absolute .. escape", func(a *OpenAttempt) { a.File = ws + "/polls/../../outside.py" }),
		with("symlink inside to outside", func(a *OpenAttempt) { a.File = link }),
		with("the folder itself", func(a *OpenAttempt) { a.File = ws }),
		with("line 0", func(a *OpenAttempt) { a.Line = 0 }),
	}
}

var (
	tokenAttr = regexp.MustCompile(`<script src="` + regexp.QuoteMeta(contract.ScriptPath) + `" data-page="[^"]*" data-token="([0-9a-f]+)"`)
	frameLine = regexp.MustCompile(`class="fname">([^<]+)</[a-z]+>, line (\d+)`)
)

// PageToken is the open token of the script tag in page, or "".
func PageToken(page string) string {
	if m := tokenAttr.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// PageFrame is the first traceback frame page shows of a file whose name
// ends with suffix, as the page's script finds it: the file as shown, and
// its line.
func PageFrame(page, suffix string) (file string, line int, ok bool) {
	for _, m := range frameLine.FindAllStringSubmatch(page, -1) {
		if strings.HasSuffix(m[1], suffix) {
			n, _ := strconv.Atoi(m[2])
			return m[1], n, true
		}
	}
	return "", 0, false
}

// GetStatus returns the status and body of url, as Get fetches it.
func GetStatus(url string) (int, string, error) {
	body, err := Get(url)
	var he *httpError
	switch {
	case err == nil:
		return http.StatusOK, body, nil
	case errors.As(err, &he):
		return he.code, body, nil
	}
	return 0, "", err
}

// GetPage is the body of url, which must answer want.
func GetPage(t testing.TB, url string, want int) string {
	t.Helper()
	code, body, err := GetStatus(url)
	if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("GET %s: %d, want %d:\n%s", url, code, want, body)
	}
	return body
}
