//go:build windows

package listener

import (
	"net"
	"os"

	"github.com/django-runserver/django-runserver/server/portcheck"
)

// Unsupported says why a Windows process can't serve on a socket the
// backend keeps, and what that costs: a socket is handed to another process
// with WSADuplicateSocket for that process's id, after it started, which
// runserver has no way to receive.
const Unsupported = "on Windows each Django process binds the address itself, so a request that arrives while the server reloads can fail"

// bind only probes the address: each process binds it itself.
func bind(a portcheck.Address) (*os.File, error) {
	return nil, portcheck.Probe(a)
}

// open binds the address for as long as the backend serves.
func (l *Listener) open() (net.Listener, error) {
	return portcheck.Listen(l.addr)
}

func (l *Listener) release() {}
