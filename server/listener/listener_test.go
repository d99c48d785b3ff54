//go:build unix

package listener

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// TestMain lets the test binary be the child: it serves on the inherited
// socket until it has answered LISTENER_TEST_REQUESTS requests.
// listenLoopback keeps a listener on a free loopback port, closed at the
// test's end.
func listenLoopback(t *testing.T) (*Listener, portcheck.Address) {
	t.Helper()
	a := testenv.FreeAddress(t)
	l, err := Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, a
}

func TestMain(m *testing.M) {
	if n := os.Getenv("LISTENER_TEST_REQUESTS"); n != "" {
		os.Exit(child(n))
	}
	os.Exit(m.Run())
}

func child(n string) int {
	want, _ := strconv.Atoi(n)
	fd, err := strconv.Atoi(os.Getenv(contract.ListenFDEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "no", contract.ListenFDEnv)
		return 2
	}
	ln, err := net.FileListener(os.NewFile(uintptr(fd), "inherited"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for i := 0; i < want; i++ {
		c, err := ln.Accept()
		if err != nil {
			return 2
		}
		http.ReadRequest(bufio.NewReader(c))
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nchild")
		c.Close()
	}
	return 0
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The backend serves, pauses, a child serves on the same socket (and
// answers a request that waited in the queue while nothing accepted), exits,
// and the backend serves again: twice over, with no refused connection.
func TestHandoff(t *testing.T) {
	l, a := listenLoopback(t)
	if err := portcheck.Probe(a); err == nil {
		t.Fatal("the address is free while the listener holds it")
	}
	url := "http://" + a.Dial() + "/"
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "backend") })
	for round := 0; round < 2; round++ {
		if err := l.Serve(backend); err != nil {
			t.Fatal(err)
		}
		if got := get(t, url); got != "backend" {
			t.Fatalf("round %d: backend served %q", round, got)
		}
		l.Pause()
		// Nothing accepts now: this request waits in the queue.
		queued := testenv.GetLater(url)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		var env string
		cmd.ExtraFiles, env = l.Inherit(nil)
		cmd.Env = append(os.Environ(), env, "LISTENER_TEST_REQUESTS=2")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if got := <-queued; got != "child" {
			t.Fatalf("round %d: the queued request got %q", round, got)
		}
		if got := get(t, url); got != "child" {
			t.Fatalf("round %d: child served %q", round, got)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("round %d: child: %v", round, err)
		}
	}
	// The backend's copy still works after children made the socket theirs.
	if err := l.Serve(backend); err != nil {
		t.Fatal(err)
	}
	if got := get(t, url); got != "backend" {
		t.Fatalf("backend served %q after the children", got)
	}
	l.Close()
	if err := portcheck.Probe(a); err != nil {
		t.Fatalf("the address is still taken after Close: %v", err)
	}
}

// Pause ends the backend's event streams (their context), so a browser
// reconnects, to the next process.
func TestPauseEndsStreams(t *testing.T) {
	l, a := listenLoopback(t)
	started := make(chan struct{})
	l.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: hello\n\n")
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	}))
	resp, err := http.Get("http://" + a.Dial() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-started
	l.Pause()
	b, err := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "hello") {
		t.Fatalf("stream read %q, %v", b, err)
	}
}

// Connections the backend accepted before Pause get their answer, even
// when their request comes after it, each with "Connection: close" so that
// none is kept alive past the handoff; the next ones go to the next
// process.
func TestPauseAnswersWhatItAccepted(t *testing.T) {
	l, a := listenLoopback(t)
	l.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "backend") }))
	silent := make([]net.Conn, 5)
	for i := range silent {
		c, err := net.Dial("tcp", a.Dial())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent[i] = c
	}
	// The queue is first in, first out: once this later connection has its
	// answer, the backend has accepted the silent ones.
	if got := get(t, "http://"+a.Dial()+"/"); got != "backend" {
		t.Fatalf("backend served %q", got)
	}
	l.Pause()
	for i, c := range silent {
		fmt.Fprintf(c, "GET /late HTTP/1.1\r\nHost: %s\r\n\r\n", a.Dial())
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d, accepted before Pause and asked after: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "backend" || !resp.Close {
			t.Errorf("connection %d got %q, close %v; want the backend's answer and Connection: close", i, b, resp.Close)
		}
	}
}
