package portcheck

import (
	"errors"
	"fmt"
	"net"

	"github.com/django-runserver/django-runserver/protocol"
)

// BindError is why an address cannot be bound.
type BindError struct {
	Address Address
	Code    protocol.ErrorCode
	Err     error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("cannot bind %s: %v", e.Address, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// Probe binds a and releases it at once, the way Django's server binds
// (Go, like Python's socketserver, sets SO_REUSEADDR on Unix). It returns
// nil when the address is free, or a *BindError saying why it is not.
func Probe(a Address) error {
	ln, err := Listen(a)
	if err != nil {
		return err
	}
	Unbind(ln)
	return ln.Close()
}

// Listen binds a the way Django's server binds and listens on it, or returns
// a *BindError saying why it cannot.
func Listen(a Address) (*net.TCPListener, error) {
	ln, err := net.Listen(a.network(), a.String())
	if err == nil {
		return ln.(*net.TCPListener), nil
	}
	var dnsErr *net.DNSError
	code := classify(err)
	if errors.As(err, &dnsErr) {
		code = protocol.CodeAddressUnavailable
	}
	return nil, &BindError{Address: a, Code: code, Err: err}
}

// NextFree returns the first free address above a's port, trying up to 100
// ports.
func NextFree(a Address) (Address, bool) { return nextFree(Local, a) }

func nextFree(p Prober, a Address) (Address, bool) {
	for port := a.Port + 1; port <= a.Port+100 && port <= 65535; port++ {
		if p.Probe(a.WithPort(port)) == nil {
			return a.WithPort(port), true
		}
	}
	return Address{}, false
}

// Holder names the process listening on port, where the operating system
// lets us see it, with its command line on one line. It returns nil when the
// holder is unknown.
func Holder(port int) *protocol.Holder {
	h, err := holder(port)
	if err != nil || h == nil || h.PID == 0 {
		return nil
	}
	h.Command = oneLine(h.Command)
	return h
}

// Prober looks at addresses: Local looks at this machine; tests of the
// code that decides what to do about a taken port use a fake.
type Prober interface {
	// Probe returns nil when a is free, or a *BindError saying why not.
	Probe(a Address) error
	// Holder names the process listening on port, or returns nil.
	Holder(port int) *protocol.Holder
}

// Local is the Prober of this machine: Probe and Holder.
var Local Prober = local{}

type local struct{}

func (local) Probe(a Address) error            { return Probe(a) }
func (local) Holder(port int) *protocol.Holder { return Holder(port) }
