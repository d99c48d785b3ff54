package config

import (
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
)

func TestResolveWatch(t *testing.T) {
	d, err := Resolve(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Watch != protocol.WatchAuto || d.PollInterval != DefaultPollInterval {
		t.Errorf("defaults: watch %q every %g s, want auto every %d s", d.Watch, d.PollInterval, DefaultPollInterval)
	}
	s, err := Resolve(map[string]any{"watch": "poll", "pollInterval": 0.25}, nil)
	if err != nil || s.Watch != protocol.WatchPoll || s.PollInterval != 0.25 {
		t.Errorf("poll every 0.25 s: %+v, %v", s, err)
	}
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"watch": "inotify"}, `djangoRunserver.watch must be "auto", "events" or "poll", not "inotify"`},
		{map[string]any{"watch": true}, `djangoRunserver.watch must be "auto", "events" or "poll", not a boolean`},
		{map[string]any{"pollInterval": 0.01}, "djangoRunserver.pollInterval must be at least 0.1 seconds, not 0.01"},
		{map[string]any{"pollInterval": -2.0}, "djangoRunserver.pollInterval must be at least 0.1 seconds, not -2"},
		{map[string]any{"pollInterval": "1s"}, "djangoRunserver.pollInterval must be a number of seconds, not a string"},
	} {
		if _, err := Resolve(c.settings, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%v) = %v, want %q", c.settings, err, c.want)
		}
	}
}
