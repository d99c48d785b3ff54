package portcheck

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
)

func TestParseAcceptsRunserverForms(t *testing.T) {
	for in, want := range map[string]Address{
		"":               {Host: "127.0.0.1", Port: 8000},
		"8000":           {Host: "127.0.0.1", Port: 8000},
		"127.0.0.1:8001": {Host: "127.0.0.1", Port: 8001},
		"0.0.0.0:8000":   {Host: "0.0.0.0", Port: 8000},
		"0:8000":         {Host: "0.0.0.0", Port: 8000},
		"localhost:8000": {Host: "localhost", Port: 8000},
		"[::1]:8000":     {Host: "::1", Port: 8000, IPv6: true},
		"[::]:8000":      {Host: "::", Port: 8000, IPv6: true},
		" 9000 ":         {Host: "127.0.0.1", Port: 9000},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseRejectsTheRest(t *testing.T) {
	for _, in := range []string{"abc", "8000x", "[::1", "127.0.0.1:", ":8000", "1.2.3.4.5:80", "999.1.1.1:80", "127.0.0.1:0", "127.0.0.1:70000", "[zz]:80", "http://localhost:8000", "a b:80"} {
		if a, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, a)
		} else if !strings.Contains(err.Error(), Forms) {
			t.Errorf("Parse(%q) error %q does not list the accepted forms", in, err)
		}
	}
}

func TestAddressForms(t *testing.T) {
	a, _ := Parse("[::]:8000")
	if a.String() != "[::]:8000" || a.URL() != "http://[::1]:8000/" || !a.Wildcard() {
		t.Errorf("[::]:8000 → %s %s wildcard=%v", a, a.URL(), a.Wildcard())
	}
	b, _ := Parse("0:8000")
	if b.String() != "0.0.0.0:8000" || b.URL() != "http://127.0.0.1:8000/" || !b.Wildcard() {
		t.Errorf("0:8000 → %s %s", b, b.URL())
	}
	if c, _ := Parse("8000"); c.Wildcard() {
		t.Error("127.0.0.1 is not a wildcard")
	}
}

func TestProbeSeesAHeldPortAndItsHolder(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := map[string]string{"tcp4": "127.0.0.1", "tcp6": "[::1]"}[network]
		ln, err := net.Listen(network, host+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		a, _ := Parse(host + ":" + strconv.Itoa(port))
		err = Probe(a)
		var be *BindError
		if !errors.As(err, &be) || be.Code != protocol.CodePortInUse {
			t.Errorf("%s: Probe = %v, want port-in-use", network, err)
		}
		if h := Holder(port); h == nil || h.PID != os.Getpid() {
			t.Errorf("%s: Holder = %+v, want this process (%d)", network, h, os.Getpid())
		}
		next, ok := NextFree(a)
		if !ok || next.Port <= port || Probe(next) != nil {
			t.Errorf("%s: NextFree = %+v %v", network, next, ok)
		}
		ln.Close()
		if err := Probe(a); err != nil {
			t.Errorf("%s: after close, Probe = %v", network, err)
		}
	}
}

func TestProbeAddressNotHere(t *testing.T) {
	a, _ := Parse("192.0.2.1:8000")
	var be *BindError
	if err := Probe(a); !errors.As(err, &be) || be.Code != protocol.CodeAddressUnavailable {
		t.Errorf("Probe(192.0.2.1) = %v, want address-unavailable", err)
	}
}
