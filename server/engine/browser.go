package engine

import (
	"fmt"
	"os"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/errorpage"
	"github.com/django-runserver/django-runserver/server/listener"
	"github.com/django-runserver/django-runserver/server/portcheck"
)

// The live browser. In fast mode a server's first process binds the
// address as runserver always does (its bind errors stay what they were)
// and hands the socket to the engine with its word that it serves; the
// engine keeps it until the server stops, and each later process serves on
// an inherited copy, so a request during a reload waits for the new process
// instead of failing. While the server is failed the engine answers on the
// socket with the error page. With browserReload, pages get the script that
// reloads them (the shim's live.py).

// Environment entries of the Django process (see live.py).
const (
	envReadyFD       = "DJANGO_RUNSERVER_READY_FD"
	envBrowserReload = "DJANGO_RUNSERVER_BROWSER_RELOAD=1"
)

// socketKeeper is a Launcher whose processes can hand their socket over and
// serve on a kept one: the real one. With another (the unit tests' fakes)
// each process binds the address itself, as in the other modes.
type socketKeeper interface {
	keepsSockets()
}

func (systemLauncher) keepsSockets() {}

// live reports whether the live browser runs: fast mode, real processes.
func (e *Engine) live() bool {
	_, ok := e.launcher.(socketKeeper)
	return ok && e.settings.Reload == protocol.ReloadFast
}

// keepsSocket reports whether the engine keeps the socket of its processes.
// Where the platform can't hand sockets on, each process binds the address
// itself and readiness is a connect.
func (e *Engine) keepsSocket() bool {
	return e.live() && listener.Supported == ""
}

// browserReload reports whether pages get the reload script.
func (e *Engine) browserReload() bool {
	s := e.settings.BrowserReload
	return e.live() && (s == nil || *s)
}

// kept reports whether the engine holds addr's socket, so that a probe
// would only find the engine itself. A socket of another address, or kept
// in another mode, is closed first.
func (e *Engine) kept(addr portcheck.Address) bool {
	if e.ln != nil && (e.ln.Address() != addr || !e.keepsSocket()) {
		e.unbind()
	}
	return e.ln != nil
}

// handoff is what one spawn gets of the live browser.
type handoff struct {
	files []*os.File      // extra files of the process
	env   []string        // extra environment entries
	ready *listener.Ready // the channel on which it says it serves, or nil
}

// handoff prepares a spawn: the process inherits the kept socket, if any,
// and the ready channel; the engine stops its own serving on the socket, so
// that from now on connections wait for the new process.
func (e *Engine) handoff() (handoff, *protocol.Error) {
	var h handoff
	if e.browserReload() {
		h.env = append(h.env, envBrowserReload)
	}
	if !e.keepsSocket() {
		return h, nil
	}
	r, err := listener.NewReady()
	if err != nil {
		return h, &protocol.Error{Code: protocol.CodeStartupFailed,
			Message: fmt.Sprintf("Cannot make a channel for the server: %v. Too many files may be open; close some programs and start again.", err)}
	}
	h.ready = r
	h.files = []*os.File{r.Child()}
	h.env = append(h.env, fmt.Sprintf("%s=3", envReadyFD))
	if e.ln != nil {
		e.ln.Pause()
		var env string
		h.files, env = e.ln.Inherit(h.files)
		h.env = append(h.env, env)
	}
	return h, nil
}

// spawned closes the backend's copy of the process's end of the channel,
// so it ends when the process does; without a process, all of it.
func (h handoff) spawned(started bool) {
	if h.ready == nil {
		return
	}
	if started {
		h.ready.Spawned()
	} else {
		h.ready.Close()
	}
}

// wrap makes proc's readiness its word on the channel, when it has one.
func (h handoff) wrap(proc Process) Process {
	if h.ready == nil {
		return proc
	}
	return &servingProcess{Process: proc, ready: h.ready}
}

// adopt keeps the socket a ready process bound and sent, if the engine
// has none yet.
func (e *Engine) adopt(proc Process) {
	sp, ok := proc.(*servingProcess)
	if !ok || sp.sock == nil {
		return
	}
	sock := sp.sock
	sp.sock = nil
	if e.ln != nil || proc != e.proc {
		sock.Close()
		return
	}
	ln, err := listener.Adopt(e.addr, sock)
	if err != nil {
		e.log(protocol.MessageWarning, fmt.Sprintf("%s cannot keep the address for the next reload: %v. Requests during a reload may fail.", e.name(), err))
		return
	}
	e.ln = ln
}

// unbind closes the kept socket: the address is free when it returns.
func (e *Engine) unbind() {
	if e.ln != nil {
		e.ln.Close()
		e.ln = nil
	}
}

// serveFailure answers on the address with the failure's page while no
// process runs. A server whose first process failed before it served has
// no socket yet: the engine binds the address for the page when Django
// itself failed (not the address, nor what comes before a spawn).
func (e *Engine) serveFailure() {
	if e.proc != nil || e.err == nil || e.state != protocol.StateFailed || !e.keepsSocket() || e.addr.Port == 0 {
		return
	}
	if e.ln == nil {
		if c := e.err.Code; c != protocol.CodeStartupFailed && c != protocol.CodeCrashed {
			return
		}
		ln, err := listener.Listen(e.addr)
		if err != nil {
			return // taken meanwhile: the next spawn's probe says by whom
		}
		e.ln = ln
	}
	page, err := errorpage.New(errorpage.Failure{Error: *e.err, Frames: e.frames, Workspace: e.folder})
	if err == nil {
		e.ln.Pause()
		err = e.ln.Serve(page)
	}
	if err != nil {
		e.log(protocol.MessageWarning, fmt.Sprintf("%s cannot show its error in the browser: %v", e.name(), err))
	}
}

// browserStatus fills the status fields of the live browser.
func (e *Engine) browserStatus(st *protocol.Status) {
	if e.state == protocol.StateStopped || !e.live() {
		return
	}
	st.BrowserReload = e.browserReload()
	st.BrowserReloadNote = listener.Supported
}

// servingProcess is a process whose readiness is its word on the ready
// channel: the kept socket always accepts, into its queue.
type servingProcess struct {
	Process
	ready *listener.Ready
	sock  *os.File // the socket the process bound and sent; taken by adopt
}

func (p *servingProcess) AwaitReady(portcheck.Address, bool) bool {
	ok, sock := p.ready.Wait()
	p.sock = sock
	return ok
}

// announceBrowser says, once a server first runs, what the browser gets.
func (e *Engine) announceBrowser() {
	switch {
	case !e.live():
	case listener.Supported != "":
		e.log(protocol.MessageInfo, e.name()+" "+listener.Supported)
	case e.browserReload():
		e.n.LogMessage(Message{Type: protocol.MessageInfo, Setting: "browserReload",
			Text: e.name() + " browser reload: open pages reload themselves after a change, and show the error while the server is failed"})
	}
}
