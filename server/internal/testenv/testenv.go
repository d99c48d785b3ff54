// Package testenv gives tests what they share: a Python that can import
// Django, a fresh copy of a testdata project, free ports, and waiting for a
// condition with a deadline.
package testenv

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/internal/corpus"
)

// Python returns an interpreter that can import Django: $DJANGO_RUNSERVER_PYTHON,
// else python3 on PATH, else Debian's /usr/bin/python3. Tests fail without
// one: `make test` installs python3-django.
func Python(t testing.TB) string {
	t.Helper()
	candidates := []string{os.Getenv("DJANGO_RUNSERVER_PYTHON"), "python3", "/usr/bin/python3"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import django").Run() == nil {
			return p
		}
	}
	t.Fatal("no Python can import Django: run `make test`, which installs Debian's python3-django, or set DJANGO_RUNSERVER_PYTHON")
	return ""
}

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Project copies testdata/NAME into a temporary folder and returns its path,
// with symlinks resolved (the paths Django and the watcher report).
func Project(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := corpus.CopyTree(filepath.Join(Root(), "testdata", name), dst); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dst)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// Eventually polls cond until it holds, failing the test with msg after
// timeout.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Get returns the body of url, or "" with the error. It keeps no
// connection open, so no goroutine of it outlives the call.
func Get(url string) (string, error) {
	return GetWithin(url, 5*time.Second)
}

// GetWithin is Get with its own timeout, for a request held meanwhile (at
// a breakpoint, or until a debugger attaches).
func GetWithin(url string, timeout time.Duration) (string, error) {
	c := http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), &httpError{resp.StatusCode}
	}
	return string(b), err
}

// PostLater posts body to url as text/plain in the background, and
// delivers the answer's body, or the error's text: for a request sent while
// nothing serves, which waits for the server.
func PostLater(url, body string) <-chan string {
	return later(func(c *http.Client) (*http.Response, error) {
		return c.Post(url, "text/plain", strings.NewReader(body))
	})
}

// GetLater is PostLater's GET.
func GetLater(url string) <-chan string {
	return later(func(c *http.Client) (*http.Response, error) { return c.Get(url) })
}

func later(send func(*http.Client) (*http.Response, error)) <-chan string {
	answer := make(chan string, 1)
	go func() {
		c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := send(c)
		if err != nil {
			answer <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(b)
	}()
	return answer
}

type httpError struct{ code int }

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code)) }

// WaitBody waits until url serves a body containing want.
func WaitBody(t testing.TB, url, want string) {
	t.Helper()
	WaitServed(t, url, 30*time.Second, want, func(body string) bool { return strings.Contains(body, want) })
}

// WaitServed waits up to timeout until url answers 200 with a body that
// satisfies ok; want describes it.
func WaitServed(t testing.TB, url string, timeout time.Duration, want string, ok func(body string) bool) {
	t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for {
		body, err := Get(url)
		if err == nil && ok(body) {
			return
		}
		last = body
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never served %q; last: %.200s", url, want, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Rewrite replaces old with new in the file at path, keeping the change
// visible to mtime-based checks.
func Rewrite(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// PortFree reports whether port can be bound on 127.0.0.1.
func PortFree(port int) bool {
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// LineOf is the 1-based line of path that contains text.
func LineOf(t testing.TB, path, text string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", path, text)
	return 0
}
