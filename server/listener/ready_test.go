//go:build unix

package listener

import (
	"io"
	"net/http"
	"syscall"
	"testing"

	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// A process that bound the address itself says ready and sends its socket:
// the backend adopts it and can serve on it.
func TestReadySendsTheSocket(t *testing.T) {
	a := testenv.FreeAddress(t)
	bound, err := portcheck.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	f, err := bound.File()
	bound.Close()
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReady()
	if err != nil {
		t.Fatal(err)
	}
	// What live.py does: "ready", with the socket attached.
	if err := syscall.Sendmsg(int(r.Child().Fd()), []byte("ready\n"), syscall.UnixRights(int(f.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.Spawned()
	ok, sock := r.Wait()
	if !ok || sock == nil {
		t.Fatalf("Wait = %v, %v; want ready with a socket", ok, sock)
	}
	ln, err := Adopt(a, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := ln.Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "adopted") })); err != nil {
		t.Fatal(err)
	}
	if body, err := testenv.Get("http://" + a.Dial() + "/"); body != "adopted" {
		t.Fatalf("GET = %q, %v", body, err)
	}
}

// The channel ends without a word when the process exits: not ready.
func TestReadyEndsWithTheProcess(t *testing.T) {
	r, err := NewReady()
	if err != nil {
		t.Fatal(err)
	}
	r.Spawned() // the only copy of the process's end: as if it exited
	if ok, sock := r.Wait(); ok || sock != nil {
		t.Fatalf("Wait = %v, %v; want not ready", ok, sock)
	}
}
