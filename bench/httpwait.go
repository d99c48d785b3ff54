//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// pollEvery is the pause between two failed GETs while waiting for new
// content: short next to any reload, long enough not to crowd the two cores
// the server restarts on.
const pollEvery = 3 * time.Millisecond

// A fresh connection per request, as a browser refresh after a restart must:
// a kept-alive one would reach the old process, or none.
var httpClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   5 * time.Second,
}

func get(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), nil
}

// waitServed polls url until its body contains want, and returns when it
// first did.
func waitServed(ctx context.Context, url, want string) (time.Time, error) {
	var last error
	for {
		body, err := get(url)
		if err == nil && strings.Contains(body, want) {
			return time.Now(), nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return time.Time{}, fmt.Errorf("%q was not served at %s: %w (last error: %v)", want, url, ctx.Err(), last)
			}
			return time.Time{}, fmt.Errorf("%q was not served at %s within the deadline: %w", want, url, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// freePort asks the OS for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// withFreePort takes a new site, from newSampleSite or newLivesite, and
// adds a free port for its server: what each server a section compares
// starts from.
func withFreePort[S any](s S, err error) (S, int, error) {
	if err != nil {
		return s, 0, err
	}
	port, err := freePort()
	return s, port, err
}

// waitBindable returns once addr can be bound again.
func waitBindable(ctx context.Context, addr string) (time.Time, error) {
	for {
		if l, err := net.Listen("tcp", addr); err == nil {
			t := time.Now()
			l.Close()
			return t, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s was still taken: %w", addr, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
