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
}

// Poll starts requesting url.
func Poll(url string) *Poller {
	p := &Poller{done: make(chan struct{})}
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
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
	}
	if err != nil {
		p.failed.Add(1)
		p.lastErr.Store(err.Error())
		return
	}
	p.ok.Add(1)
}

// Stop stops requesting, and returns once every request has its answer:
// how many succeeded, failed, and the last failure's error.
func (p *Poller) Stop() (ok, failed int64, last any) {
	close(p.done)
	p.wg.Wait()
	return p.ok.Load(), p.failed.Load(), p.lastErr.Load()
}
