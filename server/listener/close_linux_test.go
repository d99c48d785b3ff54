package listener

import (
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/server/internal/testenv"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// A copy of the kept socket, as a child holds from its fork to its exec,
// doesn't keep the address taken once the listener is closed.
func TestCloseFreesTheAddressDespiteACopy(t *testing.T) {
	a := testenv.FreeAddress(t)
	l, err := Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	copyFD, err := syscall.Dup(int(l.sock.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(copyFD)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := portcheck.Probe(a); err != nil {
		t.Fatalf("the address is taken after Close while a copy of the socket is open: %v", err)
	}
	if c, err := net.DialTimeout("tcp4", a.Dial(), time.Second); err == nil {
		c.Close()
		t.Fatal("a connection to the closed listener's address was accepted")
	}
}

// The engine closes one folder's listener while it starts another folder's
// processes: each Close frees the address however the forks fall.
func TestCloseFreesTheAddressWhileChildrenStart(t *testing.T) {
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				exec.Command("/bin/true").Run()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	a := testenv.FreeAddress(t)
	for i := range rounds {
		l, err := Listen(a)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := portcheck.Probe(a); err != nil {
			t.Fatalf("round %d: the address is taken after Close: %v", i, err)
		}
	}
}
