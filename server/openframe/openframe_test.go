package openframe

import "testing"

// Same origin: the Origin the host was reached by, or without one the
// browser's same-origin mark; never a request that says neither.
func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		origin, site, host string
		ok                 bool
	}{
		{"http://127.0.0.1:8000", "", "127.0.0.1:8000", true},
		{"http://127.0.0.1:8000", "same-origin", "127.0.0.1:8000", true},
		{"", "same-origin", "127.0.0.1:8000", true},
		{"http://localhost:8000", "", "127.0.0.1:8000", false},
		{"http://127.0.0.1:8001", "", "127.0.0.1:8000", false},
		{"https://127.0.0.1:8000", "", "127.0.0.1:8000", false},
		{"null", "", "127.0.0.1:8000", false},
		{"http://127.0.0.1:8000", "same-site", "127.0.0.1:8000", false},
		{"", "cross-site", "127.0.0.1:8000", false},
		{"", "none", "127.0.0.1:8000", false},
		{"", "", "127.0.0.1:8000", false},
		{"http://", "", "", false},
	} {
		if err := SameOrigin(c.origin, c.site, c.host); (err == nil) != c.ok {
			t.Errorf("Origin %q, Sec-Fetch-Site %q, Host %q: %v, want ok %v", c.origin, c.site, c.host, err, c.ok)
		}
	}
}

// Only an IP address or localhost: a name could be another site's, made
// to resolve here.
func TestReachedByAddress(t *testing.T) {
	for host, ok := range map[string]bool{
		"127.0.0.1:8000": true, "[::1]:8000": true, "192.168.1.20:8000": true, "localhost:8000": true,
		"LOCALHOST:8000": true, "shop.localhost:8000": true, "127.0.0.1": true,
		"evil.example:8000": false, "localhost.evil.example:8000": false, "": false, "127.0.0.1.nip.io:8000": false,
	} {
		if err := ReachedByAddress(host); (err == nil) != ok {
			t.Errorf("Host %q: %v, want ok %v", host, err, ok)
		}
	}
}
