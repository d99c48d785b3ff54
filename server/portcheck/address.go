// Package portcheck owns the address runserver binds: it parses every form
// runserver accepts, probes the address before Django is spawned, names the
// process holding a taken port, and finds the next free one.
package portcheck

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// DefaultAddress is where runserver listens unless told otherwise: loopback
// only, so a dev server is never exposed to the network by accident.
const DefaultAddress = "127.0.0.1:8000"

// Address is a parsed runserver address.
type Address struct {
	// Host is an IPv4 address, an IPv6 address without brackets, or a host
	// name, exactly as runserver will bind it.
	Host string
	Port int
	// IPv6 is set for a bracketed IPv6 address.
	IPv6 bool
}

// addressRe is runserver's own grammar (django/core/management/commands/runserver.py).
var addressRe = regexp.MustCompile(`^(?:(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([a-fA-F0-9:]+)\]|([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)):)?(\d+)$`)

// Forms lists the accepted forms, for error messages.
const Forms = "PORT, IPV4:PORT, [IPV6]:PORT or HOSTNAME:PORT (for example 8000, 127.0.0.1:8000, 0.0.0.0:8000, 0:8000, localhost:8000, [::1]:8000)"

// Parse parses an address in any form runserver accepts. "" means
// DefaultAddress, a bare port means 127.0.0.1, and "0" means 0.0.0.0.
func Parse(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultAddress
	}
	m := addressRe.FindStringSubmatch(s)
	if m == nil {
		return Address{}, fmt.Errorf("%q is not a valid runserver address: use %s", s, Forms)
	}
	port, err := strconv.Atoi(m[4])
	if err != nil || port < 1 || port > 65535 {
		return Address{}, fmt.Errorf("%q has port %s, which is outside 1-65535: use %s", s, m[4], Forms)
	}
	a := Address{Port: port}
	switch {
	case m[1] != "":
		if net.ParseIP(m[1]) == nil {
			return Address{}, fmt.Errorf("%q is not a valid IPv4 address: use %s", m[1], Forms)
		}
		a.Host = m[1]
	case m[2] != "":
		if net.ParseIP(m[2]) == nil {
			return Address{}, fmt.Errorf("[%s] is not a valid IPv6 address: use %s", m[2], Forms)
		}
		a.Host, a.IPv6 = m[2], true
	case m[3] == "0":
		a.Host = "0.0.0.0"
	case m[3] != "" && strings.Trim(m[3], "0123456789.") == "":
		// All-numeric labels are no host name: a mistyped IPv4 address.
		return Address{}, fmt.Errorf("%q is not a valid IPv4 address: use %s", m[3], Forms)
	case m[3] != "":
		a.Host = m[3]
	default:
		a.Host = "127.0.0.1"
	}
	return a, nil
}

// String is the address in the form passed to runserver.
func (a Address) String() string {
	if a.IPv6 {
		return "[" + a.Host + "]:" + strconv.Itoa(a.Port)
	}
	return a.Host + ":" + strconv.Itoa(a.Port)
}

// WithPort returns a copy of a on another port.
func (a Address) WithPort(port int) Address {
	a.Port = port
	return a
}

// Wildcard reports an address that listens on every interface, reachable
// from other machines.
func (a Address) Wildcard() bool {
	ip := net.ParseIP(a.Host)
	return ip != nil && ip.IsUnspecified()
}

// DialHost is the host to connect to: loopback for a wildcard address.
func (a Address) DialHost() string {
	switch {
	case a.Wildcard() && a.IPv6:
		return "::1"
	case a.Wildcard():
		return "127.0.0.1"
	}
	return a.Host
}

// Dial is the host:port to connect to.
func (a Address) Dial() string {
	return net.JoinHostPort(a.DialHost(), strconv.Itoa(a.Port))
}

// URL is where a browser finds the server.
func (a Address) URL() string {
	return "http://" + a.Dial() + "/"
}

// network is the socket family runserver binds: IPv6 for a bracketed
// address, else IPv4 (a host name resolves as IPv4, as runserver does). A
// wildcard IPv6 address is dual-stack, as Python's is on Linux.
func (a Address) network() string {
	switch {
	case a.IPv6 && a.Wildcard():
		return "tcp"
	case a.IPv6:
		return "tcp6"
	}
	return "tcp4"
}
