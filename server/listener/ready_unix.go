//go:build unix

package listener

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// backlog is the accept queue of an adopted socket; the kernel caps it at
// its own limit (net.core.somaxconn), as it does for Go's listeners.
const backlog = 4096

// Ready is the channel on which a process says it serves: a Unix socket
// pair, one end for the process, one for the backend. A process that bound
// the address itself (a server's first) sends its listening socket along,
// for the backend to keep (Adopt): runserver's own bind, with its own error
// messages, decides whether the address can be had.
type Ready struct {
	ours, theirs *os.File
}

// NewReady makes the channel. Both ends are close-on-exec: the process gets
// its end as an extra file.
func NewReady() (*Ready, error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("make the ready channel: %w", err)
	}
	// Ours is read through Go's poller, so Close wakes a waiting Wait.
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, fmt.Errorf("make the ready channel: %w", err)
	}
	return &Ready{ours: os.NewFile(uintptr(fds[0]), "ready"), theirs: os.NewFile(uintptr(fds[1]), "ready (process)")}, nil
}

// Child is the process's end, for its extra files.
func (r *Ready) Child() *os.File { return r.theirs }

// Spawned closes the backend's copy of the process's end, so that Wait sees
// the end of the channel when the process exits.
func (r *Ready) Spawned() { r.theirs.Close() }

// Close closes both ends.
func (r *Ready) Close() {
	r.ours.Close()
	r.theirs.Close()
}

// Wait blocks until the process says "ready", and reports true with the
// socket it sent, if any; or reports false once the process has exited (or
// the channel is closed). It closes the backend's end.
func (r *Ready) Wait() (bool, *os.File) {
	defer r.ours.Close()
	rc, err := r.ours.SyscallConn()
	if err != nil {
		return false, nil
	}
	var got []byte
	var sock *os.File
	for {
		buf := make([]byte, 64)
		oob := make([]byte, syscall.CmsgSpace(4*4))
		var n, oobn int
		var rerr error
		err = rc.Read(func(fd uintptr) bool {
			// Under ForkLock, so that a received descriptor is close-on-exec
			// before any child is forked.
			syscall.ForkLock.RLock()
			defer syscall.ForkLock.RUnlock()
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), buf, oob, 0)
			if rerr == nil && oobn > 0 {
				if f := received(oob[:oobn]); f != nil {
					if sock != nil {
						sock.Close()
					}
					sock = f
				}
			}
			return !errors.Is(rerr, syscall.EAGAIN)
		})
		if err == nil {
			err = rerr
		}
		if err != nil || n == 0 {
			if sock != nil {
				sock.Close()
			}
			return false, nil
		}
		got = append(got, buf[:n]...)
		if len(got) >= len(contract.ReadyLine) {
			if string(got[:len(contract.ReadyLine)]) != contract.ReadyLine {
				if sock != nil {
					sock.Close()
				}
				return false, nil
			}
			return true, sock
		}
	}
}

// received is the first descriptor of a control message, made
// close-on-exec; any others are closed.
func received(oob []byte) *os.File {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var f *os.File
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
			if f == nil {
				f = os.NewFile(uintptr(fd), "listener")
			} else {
				syscall.Close(fd)
			}
		}
	}
	return f
}

// adopt makes a process's socket the kept one, with the backlog of a socket
// the backend binds itself (runserver listens with 10, too few for the
// connections that wait out a reload). Its blocking mode is left as the
// process set it, while the process serves on it: the mode belongs to the
// open file description all copies share, and Twisted's reactor (Daphne)
// accepts in a loop until EAGAIN, which a blocking socket never returns.
// Inherit makes it blocking for the next process.
func adopt(a portcheck.Address, sock *os.File) (*os.File, error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("keep the socket of %s: %w", a, err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = syscall.Listen(int(fd), backlog)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("keep the socket of %s: %w", a, err)
	}
	return sock, nil
}
