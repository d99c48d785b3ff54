package testenv

import (
	"time"

	"github.com/django-runserver/django-runserver/internal/requestpoll"
)

// pollTimeout is long: a request may wait in the queue through a whole
// reload, and only one that fails counts.
const pollTimeout = 60 * time.Second

// Poll starts requesting url every 10 ms (requestpoll); an answer that want
// (requestpoll.OnlyOK, requestpoll.Answered) refuses is a failure.
func Poll(url string, want func(status int) bool) *requestpoll.Poller {
	return requestpoll.Start(url, pollTimeout, want)
}
