package requestpoll

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A page that answers 200 three times, then 503: each answer is counted by
// its status, and want decides which fail.
func TestPollerCountsWhatWantRefuses(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) > 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	for _, tc := range []struct {
		name       string
		want       func(int) bool
		wantFailed func(n503 int64) int64
	}{
		{"OnlyOK", OnlyOK, func(n503 int64) int64 { return n503 }},
		{"Answered", Answered, func(int64) int64 { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			served.Store(0)
			p := Start(srv.URL, 5*time.Second, tc.want)
			for deadline := time.Now().Add(10 * time.Second); p.Count(http.StatusServiceUnavailable) < 3; {
				if time.Now().After(deadline) {
					p.Stop()
					t.Fatalf("no three 503s within 10 s: %d answers 200", p.Count(http.StatusOK))
				}
				time.Sleep(Every)
			}
			ok, failed, _ := p.Stop()
			n200, n503 := p.Count(http.StatusOK), p.Count(http.StatusServiceUnavailable)
			if n200 != 3 || ok+failed != n200+n503 || failed != tc.wantFailed(n503) {
				t.Errorf("ok %d, failed %d, with %d answers 200 and %d 503: want 3 200s, and %d failed", ok, failed, n200, n503, tc.wantFailed(n503))
			}
		})
	}
	srv.Close()
}
