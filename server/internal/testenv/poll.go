package testenv

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Poller requests a page every 10 ms until stopped, each request on a new
// connection (as a browser's refresh after a reload makes: a kept-alive one
// would hide refused connections) and without waiting for the one before,
// so that many wait in the queue through each reload.
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

// Poll starts requesting url; an answer that want refuses is a failure.
func Poll(url string, want func(status int) bool) *Poller {
	p := &Poller{done: make(chan struct{}), want: want}
	c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
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
