package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
)

// Which runserver runs. Django looks runserver up in the installed apps,
// and the first app that has one wins: Daphne's (Channels projects), or a
// project's own that runs another server. A fast-mode process says which
// one it loaded (live.py, contract.RunserverLinePrefix) before it serves;
// the engine then knows which features that server can have, and says
// which are off and why, instead of claiming them.

// runserverLine takes a process's line saying which runserver it runs,
// and reports whether line was one, which no one else sees.
func (e *Engine) runserverLine(r *run, line string) bool {
	rest, ok := strings.CutPrefix(line, contract.RunserverLinePrefix)
	if !ok {
		return false
	}
	var said contract.Runserver
	if err := json.Unmarshal([]byte(rest), &said); err != nil {
		return false // not the shim's: the project's own output
	}
	rs := runserverStatus(said)
	e.post(func() { e.runserverSaid(r, rs) })
	return true
}

// runserverSaid records which runserver r's process runs, and announces
// what the browser gets once the process also serves.
func (e *Engine) runserverSaid(r *run, rs *protocol.Runserver) {
	if r != e.run {
		return
	}
	r.runserver = rs
	e.runserver = rs
	e.announceBrowser(r)
	e.notify()
}

// runserverStatus is the status of the runserver a process said it runs:
// whose server, and the features that server can't have.
func runserverStatus(said contract.Runserver) *protocol.Runserver {
	rs := &protocol.Runserver{Command: said.Command}
	switch said.Server {
	case contract.ServerDjango:
		rs.Server = protocol.ServerDjango
		return rs
	case contract.ServerDaphne:
		// Daphne serves on the kept socket, drains, and its pages get the
		// script (asgi.py).
		rs.Server = protocol.ServerDaphne
		return rs
	}
	rs.Server = protocol.ServerOther
	who := fmt.Sprintf("the runserver of the app %q (%s) runs a server of its own, which", said.App, said.Command)
	rs.Off = []protocol.FeatureOff{
		{Feature: protocol.FeatureKeptSocket, Reason: who + " binds the address itself at each start: requests during a reload can fail"},
		{Feature: protocol.FeatureBrowserReload, Reason: who + " serves pages the backend can't add the reload script to: open pages don't reload themselves"},
	}
	return rs
}

// featureOff is why the latest process's server can't have f, or "".
func (e *Engine) featureOff(f protocol.Feature) string {
	if e.runserver == nil {
		return ""
	}
	for _, off := range e.runserver.Off {
		if off.Feature == f {
			return off.Reason
		}
	}
	return ""
}

// runserverAdvice is what a user can do to have the features a runserver
// lacks.
func runserverAdvice() string {
	return "Django's own runserver has them: to use it, rename that app's management/commands/runserver.py, or list \"django.contrib.staticfiles\" before that app in INSTALLED_APPS."
}
