//go:build linux

package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakedap"
	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
)

// debugServers are the servers of the debug section on each project, by
// key: with the debugger and without it, each cold and warm (the default).
var debugServers = []struct {
	key, preload string
	debug        bool
}{
	{"cold", "off", false},
	{"warm", "auto", false},
	{"attached-cold", "off", true},
	{"attached", "auto", true},
}

// debugProjects are the projects of the debug section, by the prefix of
// their keys: mysite, and the heavier project of section 7, whose start
// the debugger traces through far more modules.
var debugProjects = []struct{ prefix, name, label string }{
	{"debug/", "mysite", "mysite"},
	{"debug-heavy/", "heavy", "The heavier project of section 7"},
}

// runDebug measures the Python-edit reload with the debugger attached
// against the same without it, in the same rounds: a backend on a copy of
// each project per server, one started with debug: true and attached to
// once as an editor does (initialize, attach, configurationDone); the
// relay configures each new process for that session.
// What the debugger costs is the difference from the same start, warm or
// cold, without it.
func runDebug(cfg *config, env *env, r *report) {
	progress("debug: starting ours with and without the debugger on copies of testdata/mysite and the heavier project")
	heavy, _, err := newHeavySite(cfg, env.python, "heavy-debug")
	if err != nil {
		r.fail("debug: %v", err)
		return
	}
	var trials []*trial
	for _, p := range debugProjects {
		for _, d := range debugServers {
			key := p.prefix + d.key
			s, port, err := withFreePort(debugSite(cfg, heavy, p.name, d.key))
			if err != nil {
				r.fail("%s: %v", key, err)
				return
			}
			o, err := startDebugged(env, s, port, d.preload, d.debug)
			if o != nil {
				defer o.close()
			}
			if err != nil {
				r.fail("%s: %v", key, err)
				return
			}
			trials = append(trials, newTrial(key, o, s.pyEdit(port), port))
		}
	}
	runRounds("debug", trials, cfg.reps, map[int]time.Time{})
	r.putTrials(trials)
}

// debugSite is a copy of the project name for the server key.
func debugSite(cfg *config, heavy *site, name, key string) (*site, error) {
	if name == "heavy" {
		return heavy.clone(filepath.Join(cfg.tmp, "heavy-debug-"+key))
	}
	return newSampleSite(cfg, "mysite-"+key)
}

// startDebugged starts ours on s, with the debugger attached once when
// debug is set, and returns it once it runs, and once its preloader is
// ready when it has one (measured warm, as section 8).
func startDebugged(env *env, s *site, port int, preload string, debug bool) (*ours, error) {
	b, err := startBackend(env.bin, s.dir, oursSettings(env, port, preload))
	if err != nil {
		return nil, err
	}
	o := &ours{b: b, save: true}
	if debug {
		go attachOnce(b)
	}
	var st protocol.Status
	if err := b.Call(protocol.MethodStart, protocol.StartParams{Debug: debug}, &st); err != nil {
		return o, err
	}
	_, err = b.waitState(protocol.StateRunning, 60*time.Second)
	if err == nil && preload != "off" {
		err = b.awaitPreload(0, true, 60*time.Second)
	}
	return o, err
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
