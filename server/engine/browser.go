package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
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

// liveBrowser reports whether the live browser runs: fast mode, with the
// sockets (Deps.Sockets) it needs. Without them each process binds the
// address itself, as in the other modes.
func (e *Engine) liveBrowser() bool {
	return e.sockets != nil && e.settings.Reload == protocol.ReloadFast
}

// keepsSocket reports whether the engine keeps the socket of its processes.
// Where the platform can't hand sockets on, each process binds the address
// itself and readiness is a connect.
func (e *Engine) keepsSocket() bool {
	return e.liveBrowser() && listener.Unsupported == ""
}

// browserReload reports whether pages get the reload script.
func (e *Engine) browserReload() bool {
	s := e.settings.BrowserReload
	return e.liveBrowser() && (s == nil || *s)
}

// closeSocketUnlessFor closes the kept socket unless the next process can
// inherit it: a socket of another address, or kept in another mode. A
// socket bound only for the error page goes too: no process has yet shown
// that it serves on a handed socket (a project's own runserver command may
// not), so the next one binds as the first did.
func (e *Engine) closeSocketUnlessFor(addr portcheck.Address) {
	if e.ln != nil && (e.ln.Address() != addr || !e.keepsSocket() || e.lnForPage) {
		e.closeSocket()
	}
}

// handoff is what one spawn gets of the live browser.
type handoff struct {
	files []*os.File   // extra files of the process
	env   []string     // extra environment entries
	ready ReadyChannel // the channel on which it says it serves, or nil
}

// prepareHandoff prepares a spawn: the process inherits the kept socket, if
// any, and the ready channel; the engine stops its own serving on the
// socket, so that from now on connections wait for the new process.
func (e *Engine) prepareHandoff() (handoff, *protocol.Error) {
	var h handoff
	if e.browserReload() {
		h.env = append(h.env, contract.BrowserReloadEnv+"="+contract.BrowserReloadOn)
		h.env = append(h.env, e.openEnv()...)
	}
	if !e.keepsSocket() {
		return h, nil
	}
	r, err := e.sockets.NewReady()
	if err != nil {
		return h, &protocol.Error{Code: protocol.CodeStartupFailed,
			Message: fmt.Sprintf("Cannot make a channel for the server: %v. Too many files may be open; close some programs and start again.", err)}
	}
	h.ready = r
	h.files = []*os.File{r.Child()}
	h.env = append(h.env, contract.ReadyFDEnv+"=3")
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

// withReadyChannel makes the readiness of r's process, proc, its word on the channel,
// when it has one. A process that got no kept socket may also be a server
// that isn't runserver's (a project's own runserver command, a script): for
// it a connect to the address it binds says ready, as in the other modes.
func (e *Engine) withReadyChannel(r *run, h handoff, proc Process) Process {
	if h.ready == nil {
		return proc
	}
	sp := &servingProcess{Process: proc, ready: h.ready, connect: e.ln == nil, waited: make(chan struct{})}
	sp.sent = func() { e.post(func() { e.adopt(r) }) }
	r.serving = sp
	return sp
}

// adopt keeps the socket r's process bound and sent, if any, while r is
// the live run and the engine has none yet; otherwise it closes it.
func (e *Engine) adopt(r *run) {
	if r.serving == nil {
		return
	}
	sock := r.serving.take()
	if sock == nil {
		return
	}
	if e.ln != nil || r != e.run {
		sock.Close()
		return
	}
	ln, err := e.sockets.Adopt(e.addr, sock)
	if err != nil {
		e.log(protocol.MessageWarning, fmt.Sprintf("%s cannot keep the address for the next reload: %v. Requests during a reload may fail.", e.name(), err))
		return
	}
	e.ln, e.lnForPage = ln, false
}

// collectSentSocket waits, once r's process has exited, for the end of its word on
// the channel, and adopts the socket it sent, if any: nothing it sent stays
// open unaccounted for, for a stop's free address.
func (e *Engine) collectSentSocket(r *run) {
	if r.serving != nil {
		<-r.serving.waited // the channel ends with the process
		e.adopt(r)
	}
}

// closeSocket closes the kept socket: the address is free when it returns.
func (e *Engine) closeSocket() {
	if e.ln != nil {
		e.ln.Close()
		e.ln, e.lnForPage = nil, false
	}
}

// serveFailure answers on the address with the failure's page while no
// process runs. A server whose first process failed before it served has
// no socket yet: the engine binds the address for the page. Only Django's
// own failures get the page; for others (a timeout, the folder gone, the
// address) the address is freed, as without the live browser.
func (e *Engine) serveFailure() {
	if e.run != nil || e.err == nil || e.state != protocol.StateFailed || !e.keepsSocket() || e.addr.Port == 0 {
		return
	}
	if c := e.err.Code; c != protocol.CodeStartupFailed && c != protocol.CodeCrashed {
		e.closeSocket() // the address is free, as before, for what no page can fix
		return
	}
	if e.ln == nil {
		ln, err := e.sockets.Listen(e.addr)
		if err != nil {
			return // taken meanwhile: the next spawn's probe says by whom
		}
		e.ln, e.lnForPage = ln, true
	}
	page, err := errorpage.New(errorpage.Failure{Error: *e.err, Frames: e.frames, Workspace: e.folder, Open: e.pageOpen()})
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
	if e.state == protocol.StateStopped || !e.liveBrowser() {
		return
	}
	st.BrowserReload = e.browserReload() && e.featureOff(protocol.FeatureBrowserReload) == ""
	st.BrowserReloadNote = listener.Unsupported
	if st.BrowserReloadNote == "" {
		st.BrowserReloadNote = e.featureOff(protocol.FeatureKeptSocket)
	}
	if e.runserver != nil {
		rs := *e.runserver
		st.Runserver = &rs
	}
}

// servingProcess is a process whose readiness is its word on the ready
// channel: the kept socket always accepts, into its queue.
type servingProcess struct {
	Process
	ready ReadyChannel
	// connect: no kept socket was inherited, so a connect to the address
	// the process bound itself also says ready.
	connect bool
	sent    func()        // called once a socket the process sent waits in sock
	waited  chan struct{} // closed once the channel has said all it will

	mu   sync.Mutex
	sock *os.File // the socket the process sent, until taken
}

// take returns the socket the process sent, once.
func (p *servingProcess) take() *os.File {
	p.mu.Lock()
	defer p.mu.Unlock()
	sock := p.sock
	p.sock = nil
	return sock
}

func (p *servingProcess) AwaitReady(ctx context.Context, addr portcheck.Address, owned bool) bool {
	said := make(chan bool, 1)
	go func() {
		ok, sock := p.ready.Wait()
		p.mu.Lock()
		p.sock = sock
		p.mu.Unlock()
		close(p.waited)
		if sock != nil {
			p.sent()
		}
		said <- ok
	}()
	if !p.connect {
		return <-said
	}
	// The connect wait ends with this call: once the process has said it
	// serves, the engine holds a copy of its socket, so the owner check
	// would fail, and retry every few milliseconds, for the process's life.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	connected := make(chan bool, 1)
	go func() { connected <- p.Process.AwaitReady(ctx, addr, true) }()
	select {
	case ok := <-said:
		if ok {
			return true
		}
		return <-connected // the process exited, or serves without saying so
	case ok := <-connected:
		return ok
	}
}

// announceBrowser says what the browser gets, once r's process serves and
// has said which runserver it runs; again when a later process runs
// another runserver. A feature its server can't have is never claimed: the
// log names each one that is off, and why.
func (e *Engine) announceBrowser(r *run) {
	if !e.liveBrowser() || r != e.run || !r.ready || r.runserver == nil || e.announced == r.runserver.Command {
		return
	}
	e.announced = r.runserver.Command
	if len(r.runserver.Off) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s runs %s, so these are off:", e.name(), r.runserver.Command)
		for _, off := range r.runserver.Off {
			fmt.Fprintf(&b, "\n  %s: %s.", featureName(off.Feature), off.Reason)
		}
		b.WriteString("\n" + runserverAdvice())
		e.n.LogMessage(Message{Type: protocol.MessageWarning, Setting: "browserReload", Text: b.String()})
		return
	}
	switch {
	case listener.Unsupported != "":
		e.log(protocol.MessageInfo, e.name()+" "+listener.Unsupported)
	case e.browserReload():
		e.n.LogMessage(Message{Type: protocol.MessageInfo, Setting: "browserReload",
			Text: e.name() + " browser reload: open pages reload themselves after a change, and show the error while the server is failed"})
	}
}

// featureName is how the log names a feature.
func featureName(f protocol.Feature) string {
	switch f {
	case protocol.FeatureBrowserReload:
		return "browser reload"
	case protocol.FeatureKeptSocket:
		return "requests kept through a reload"
	}
	return string(f)
}
