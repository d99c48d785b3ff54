// Package listener owns a server's listening socket, kept for the server's
// whole life. A server's first process binds the address itself, as
// runserver always does (its own bind and error messages decide whether the
// address can be had), and sends its listening socket over its ready channel
// (Ready); the backend keeps it (Adopt), and each later process serves on an
// inherited copy (the pattern of systemfd and listenfd). The backend binds
// the address itself (Listen) only to show the page of a server that failed
// before any process served. While no process serves, connections wait in
// the kernel's accept queue, or the backend answers them itself (Serve), for
// example with the page of a failed server. Where a socket can't be handed
// on, Unsupported says so, and each process binds the address itself.
package listener

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// drainTimeout bounds how long requests the backend accepted may take to
// finish once it stops serving. The socket is handed on at once; only those
// connections wait.
const drainTimeout = 5 * time.Second

// Listener is a server's address, bound once. Its methods are safe for
// concurrent use.
type Listener struct {
	addr portcheck.Address
	// sock is the kept socket: a blocking descriptor that never enters Go's
	// poller, so handing it to a child changes nothing for the backend. It is
	// nil where the platform can't hand a socket on (see Unsupported).
	sock *os.File

	mu sync.Mutex
	// While the backend serves: the server, its listener (a poller-managed
	// copy of sock), what ends its event streams and its open connections.
	// All nil otherwise.
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc
	served chan struct{}   // closed when srv.Serve returns
	conns  *sync.WaitGroup // one per connection the backend accepted, until closed
	drains sync.WaitGroup
	closed bool
}

// Listen binds a with the semantics of Django's server (see
// portcheck.Listen) and keeps it. A taken or forbidden address is a
// *portcheck.BindError. Where the platform can't hand the socket on, the
// address is only probed, and each process binds it itself.
func Listen(a portcheck.Address) (*Listener, error) {
	sock, err := bind(a)
	if err != nil {
		return nil, err
	}
	return &Listener{addr: a, sock: sock}, nil
}

// Adopt keeps sock, a listening socket on a that a process bound and
// handed over (see Ready), as if Listen had bound it.
func Adopt(a portcheck.Address, sock *os.File) (*Listener, error) {
	s, err := adopt(a, sock)
	if err != nil {
		sock.Close()
		return nil, err
	}
	return &Listener{addr: a, sock: s}, nil
}

// Address is the bound address.
func (l *Listener) Address() portcheck.Address { return l.addr }

// Inherit adds the socket to a child's extra files (which become
// descriptors 3, 4, … in the child) and returns them, with the environment
// entry naming the socket's descriptor. It returns extra and "" where the
// socket can't be handed on. Call it only while the backend does not
// serve: a process and the backend never accept at the same time.
func (l *Listener) Inherit(extra []*os.File) ([]*os.File, string) {
	if l.sock == nil {
		return extra, ""
	}
	// Blocking, as runserver's server expects it. A process that set it
	// non-blocking (Twisted's reactor, under Daphne) has exited by now.
	l.release()
	return append(extra, l.sock), contract.ListenFDEnv + "=" + strconv.Itoa(3+len(extra))
}

// Serve answers connections on the address with h until Pause. Event
// streams should end when their request's context does: it is canceled by
// Pause, so that a browser reconnects to the next process.
func (l *Listener) Serve(h http.Handler) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("serve on a closed listener")
	}
	if l.srv != nil {
		return errors.New("serve while already serving")
	}
	ln, err := l.open()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	conns := new(sync.WaitGroup)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnState:         countConns(conns),
	}
	// Every answer says "Connection: close": a kept-alive connection would
	// outlive Pause and get the backend's answer after the next process
	// serves, or be closed under a client that doesn't retry.
	srv.SetKeepAlivesEnabled(false)
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	l.srv, l.ln, l.cancel, l.served, l.conns = srv, ln, cancel, served, conns
	return nil
}

// countConns counts a server's open connections in wg. http.Server reports
// a new connection from its accept loop, before Serve can return.
func countConns(wg *sync.WaitGroup) func(net.Conn, http.ConnState) {
	return func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			wg.Add(1)
		case http.StateClosed, http.StateHijacked:
			wg.Done()
		}
	}
}

// Pause stops the backend's serving at once, without closing the socket:
// when it returns, the backend accepts no more connections, and the next
// ones wait in the queue for a process. Every connection the backend
// accepted gets its answer in the background (Close waits for them), even
// one whose request comes after Pause.
func (l *Listener) Pause() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pauseLocked()
}

func (l *Listener) pauseLocked() {
	if l.srv == nil {
		return
	}
	srv, conns := l.srv, l.conns
	l.cancel()
	// Closing the copy wakes its Accept and returns once the descriptor is
	// closed; the kept socket stays open and bound.
	l.ln.Close()
	<-l.served
	l.release()
	l.drains.Add(1)
	go func() {
		defer l.drains.Done()
		// Not srv.Shutdown: a server shutting down closes a connection
		// whose request it reads from then on, unanswered, and a client
		// that connected just before Pause sees an empty response.
		// Without keep-alives each connection ends after its one answer.
		waitFor(conns, drainTimeout)
		srv.Close()
	}()
	l.srv, l.ln, l.cancel, l.served, l.conns = nil, nil, nil, nil, nil
}

// waitFor waits until wg is done, or for timeout.
func waitFor(wg *sync.WaitGroup, timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// Close stops serving, waits for the backend's requests to end and closes
// the socket: the address is free when it returns.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.pauseLocked()
	l.closed = true
	l.mu.Unlock()
	l.drains.Wait()
	if l.sock == nil {
		return nil
	}
	// A child the backend is starting meanwhile, for another folder, holds
	// a copy of the socket from its fork to its exec.
	portcheck.Unbind(l.sock)
	return l.sock.Close()
}
