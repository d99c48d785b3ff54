//go:build linux

package main

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
)

// debugServers are the servers of the debug section, by key: with the
// debugger and without it, each cold and warm (the default).
var debugServers = []struct {
	key, preload string
	debug        bool
}{
	{"debug/cold", "off", false},
	{"debug/warm", "auto", false},
	{"debug/attached-cold", "off", true},
	{"debug/attached", "auto", true},
}

// runDebug measures the Python-edit reload with the debugger attached
// against the same without it, in the same rounds: a backend on a copy of
// testdata/mysite each, one started with debug: true and attached to once
// as an editor does (initialize, attach, configurationDone); the relay
// configures each new process for that session.
// What the debugger costs is the difference from the same start, warm or
// cold, without it.
func runDebug(cfg *config, env *env, r *report) {
	progress("debug: starting ours with and without the debugger on copies of testdata/mysite")
	var trials []*trial
	for _, d := range debugServers {
		key, debug := d.key, d.debug
		s, port, err := withFreePort(newSampleSite(cfg, "mysite-"+strings.TrimPrefix(key, "debug/")))
		if err != nil {
			r.fail("debug: %v", err)
			return
		}
		b, err := startBackend(env.bin, s.dir, oursSettings(env, port, d.preload))
		if err != nil {
			r.fail("%s: %v", key, err)
			return
		}
		o := &ours{b: b, save: true}
		defer o.close()
		if debug {
			go attachOnce(b)
		}
		var st protocol.Status
		if err := b.Call(protocol.MethodStart, protocol.StartParams{Debug: debug}, &st); err != nil {
			r.fail("%s: %v", key, err)
			return
		}
		_, err = b.waitState(protocol.StateRunning, 60*time.Second)
		if err == nil && d.preload != "off" {
			err = b.awaitPreload(0, true, 60*time.Second) // measured warm, as section 8
		}
		if err != nil {
			r.fail("%s: %v", key, err)
			return
		}
		trials = append(trials, newTrial(key, o, s.pyEdit(port), port))
	}
	runRounds("debug", trials, cfg.reps, map[int]time.Time{})
	r.putTrials(trials)
}

// attachOnce attaches a debugger to the first process the backend
// announces, as an editor does, and stays attached: the session follows
// each new process, which the relay configures before it serves. The
// session ends with the backend.
func attachOnce(b *backend) {
	var ready protocol.DebugReadyParams
	err := b.Await(24*time.Hour, 0, fakeeditor.Expectation{
		Description: "runserver/debugReady",
		Check: func(msgs []fakeeditor.Message) fakeeditor.Verdict {
			for _, m := range msgs {
				if m.Method == protocol.MethodDebugReady && json.Unmarshal(m.Params, &ready) == nil {
					return fakeeditor.Met
				}
			}
			return fakeeditor.Unmet
		},
	})
	if err != nil {
		return // the backend is gone
	}
	d, err := fakedap.Dial(net.JoinHostPort(ready.Host, strconv.Itoa(ready.Port)))
	if err != nil {
		progress("debug: cannot attach to %s:%d: %v", ready.Host, ready.Port, err)
		return
	}
	if err := d.Attach(nil); err != nil {
		progress("debug: cannot attach to %s:%d: %v", ready.Host, ready.Port, err)
		d.Close()
		return
	}
	go func() { <-d.Done(); d.Close() }()
}
