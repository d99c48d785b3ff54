//go:build unix

package listener

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/django-runserver/django-runserver/server/portcheck"
)

// Unsupported is empty: a Unix process can serve on a socket the backend
// keeps.
const Unsupported = ""

// bind keeps a blocking duplicate of a fresh listener's descriptor. Every
// duplicate shares one open file description, and with it O_NONBLOCK: a
// poller-managed descriptor handed to os/exec (whose File.Fd switches the
// description to blocking) would leave the backend's own Accept blocked in
// the kernel, out of reach of Close and deadlines. So the kept socket is
// never poller-managed, and the backend serves on a copy only while no
// child runs (open, release).
func bind(a portcheck.Address) (*os.File, error) {
	ln, err := portcheck.Listen(a)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("keep the socket of %s: %w", a, err)
	}
	fd, derr := -1, error(nil)
	err = rc.Control(func(s uintptr) {
		// Under ForkLock, so that no child forked meanwhile inherits it.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		fd, derr = syscall.Dup(int(s))
		if derr == nil {
			syscall.CloseOnExec(fd)
		}
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("keep the socket of %s: %w", a, err)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("keep the socket of %s: %w", a, err)
	}
	return os.NewFile(uintptr(fd), "listener "+a.String()), nil
}

// open is a poller-managed copy of the kept socket for the backend to
// serve on. net.FileListener makes the shared description non-blocking.
func (l *Listener) open() (net.Listener, error) {
	ln, err := net.FileListener(l.sock)
	if err != nil {
		return nil, fmt.Errorf("serve on %s: %w", l.addr, err)
	}
	return ln, nil
}

// release makes the socket blocking again once the backend's copy is
// closed, as a child expects it: on macOS an accepted connection inherits
// O_NONBLOCK from its listener, which Python's blocking sockets don't
// expect.
func (l *Listener) release() {
	rc, err := l.sock.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), false) })
}
