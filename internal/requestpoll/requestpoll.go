// Package requestpoll requests a page every 10 ms until stopped, and counts
// the answers: how the tests and the benchmark count the requests that fail
// while a server reloads.
//
// Each request goes on a new connection, as a browser's refresh after a
// reload does (a kept-alive one would hide refused connections), and
// without waiting for the one before (one that waits for the next process
// would hide the failures of the others), so that many wait in the queue
// through each reload.
package requestpoll

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Every is the pause between two requests.
const Every = 10 * time.Millisecond

// Poller requests a page every Every until stopped.
type Poller struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value
	done       chan struct{}
	wg         sync.WaitGroup
	want       func(status int) bool // which answers count as ok
	statuses   sync.Map              // status code → *atomic.Int64
}

// OnlyOK wants every request served by Django.
func OnlyOK(status int) bool { return status == http.StatusOK }

// Answered wants every request answered: by Django, or by the failed
// server's page.
func Answered(status int) bool {
	return status == http.StatusOK || status == http.StatusServiceUnavailable
}

// Start starts requesting url; an answer that want refuses, or none within
// timeout, is a failure.
func Start(url string, timeout time.Duration, want func(status int) bool) *Poller {
	p := &Poller{done: make(chan struct{}), want: want}
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(Every)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.request(c, url)
			}()
		}
	}()
	return p
}

func (p *Poller) request(c *http.Client, url string) {
	resp, err := c.Get(url)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && !p.want(resp.StatusCode) {
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		n, _ := p.statuses.LoadOrStore(resp.StatusCode, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	if err != nil {
		p.failed.Add(1)
		p.lastErr.Store(err.Error())
		return
	}
	p.ok.Add(1)
}

// Count is how many requests got status.
func (p *Poller) Count(status int) int64 {
	if n, ok := p.statuses.Load(status); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// Stop stops requesting, and returns once every request has its answer:
// how many succeeded, failed, and the last failure's error.
func (p *Poller) Stop() (ok, failed int64, last any) {
	close(p.done)
	p.wg.Wait()
	return p.ok.Load(), p.failed.Load(), p.lastErr.Load()
}
