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
