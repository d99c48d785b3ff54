// Package preload keeps a warm Python process beside a running server: the
// preloader (reloader's preload.py). It has imported what the project's
// edits don't change, Django and third-party modules, and a reload forks the
// new server from it instead of starting a fresh interpreter. A preloader of
// the second level (Spec.Setup) has also set Django up.
//
// The preloader never serves stale code: before each fork it checks every
// file it imported, every package folder and sys.path entry, and the
// interpreter, and refuses the fork if any changed. What shapes the process
// from outside (interpreter, environment, manage.py) is the caller's to
// compare: a preloader is built for one and used for no other.
package preload

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/internal/text"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// Timeouts. A healthy preloader connects within a second and answers a
// fork in milliseconds; these only bound a hung one, whose reload then
// starts cold.
const (
	connectTimeout = 30 * time.Second
	forkTimeout    = 2 * time.Second
)

// ErrLoading is Fork's error while the preloader is still importing: the
// reload starts cold, and the preloader is worth keeping.
var ErrLoading = errors.New("the preloader was still importing")

// Spec says how to start a preloader.
type Spec struct {
	// Python, Dir and Env are those of the server processes it forks.
	Python string
	// Options go to the interpreter before the script, as the server's
	// would (-Xfrozen_modules=off under the debugger): a fork can't change
	// them.
	Options []string
	Dir     string
	Env     []string
	// Script is the preloader (reloader.WritePreloader), Shim the shim its
	// children run (reloader.WriteShim).
	Script, Shim string
	ManagePy     string
	// Workspace is the folder whose code is never preloaded.
	Workspace string
	// Modules is the shim's list of what the last server imported.
	Modules string
	// Setup makes a preloader of the second level: after the imports it
	// sets Django up (the settings, apps and models, which are project
	// code), so a fork from it skips that too; it is stale once any of
	// those changed.
	Setup bool
	// Debug makes a preloader for a server under the debugger: it also
	// imports what the debug bootstrap's debugpy.listen imports (pydevd),
	// so that no child pays for it. The server's list can't be relied on
	// for it (the first process lists its modules as it starts to serve,
	// while that import may still run in its server thread), and a
	// preloader without the debugger must never import it (debugpy
	// replaces breakpoint()'s hook).
	Debug bool
}

// Preloader is a running preloader process.
type Preloader struct {
	proc *supervisor.Process

	ready    chan struct{} // closed once the preloader is ready or gone
	readyErr error         // valid after ready: why it can't fork, or nil
	advice   string        // valid after ready: what the user can change, when it can't
	imported int           // valid after ready: how many modules it imported

	conn    *net.UnixConn              // set before ready closes
	replies chan contract.PreloadReply // answers to forks
	gone    chan struct{}              // closed when the control connection ends

	mu    sync.Mutex
	exits map[int]chan int // by child pid: its exit code, once reported
	tail  string           // the preloader's last line on stderr

	forkMu sync.Mutex // one fork at a time: replies come in order
}

// Start starts a preloader. It returns at once; the preloader imports in
// the background, and Fork says ErrLoading until it is done.
func Start(s Spec) (*Preloader, error) {
	dir, err := os.MkdirTemp("", "django-runserver-preload-") // private: 0700
	if err != nil {
		return nil, fmt.Errorf("cannot make the preloader's socket folder: %w", err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cannot listen for the preloader: %w", err)
	}
	p := &Preloader{
		ready:   make(chan struct{}),
		replies: make(chan contract.PreloadReply, 1),
		gone:    make(chan struct{}),
		exits:   map[int]chan int{},
	}
	level := "modules"
	if s.Setup {
		level = "setup"
	}
	args := append(slices.Clone(s.Options), s.Script, s.Shim, s.ManagePy, s.Workspace, s.Modules, level)
	if s.Debug {
		args = append(args, "debug")
	}
	proc, err := supervisor.Start(supervisor.Spec{
		Path:          s.Python,
		Args:          args,
		Dir:           s.Dir,
		Env:           append(append([]string(nil), s.Env...), contract.PreloadSocketEnv+"="+sock),
		OnParentDeath: supervisor.KillOnParentDeath,
		OnLine: func(stderr bool, line string) {
			if stderr && strings.TrimSpace(line) != "" {
				p.mu.Lock()
				p.tail = line
				p.mu.Unlock()
			}
		},
	})
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cannot start the preloader: %w", err)
	}
	p.proc = proc
	go func() {
		select {
		case <-proc.Done():
		case <-p.gone:
		}
		ln.Close() // ends an Accept still waiting
	}()
	go p.run(ln, dir)
	return p, nil
}

// run accepts the preloader's connection and reads its replies until it
// ends.
func (p *Preloader) run(ln *net.UnixListener, dir string) {
	defer close(p.gone)
	_ = ln.SetDeadline(time.Now().Add(connectTimeout))
	conn, err := ln.AcceptUnix()
	ln.Close()
	os.RemoveAll(dir)
	if err != nil {
		p.proc.Stop(time.Second)
		p.setReady(0, fmt.Errorf("the preloader did not connect: %s", p.lastWords()))
		return
	}
	p.conn = conn
	defer conn.Close()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		var r contract.PreloadReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue
		}
		switch {
		case r.Ready != nil:
			var why error
			if r.Unsafe != "" {
				why = errors.New(r.Unsafe)
			}
			p.advice = r.Advice // before setReady: read after Ready
			p.setReady(*r.Ready, why)
		case r.Exit != 0:
			p.mu.Lock()
			ch := p.exits[r.Exit]
			delete(p.exits, r.Exit)
			p.mu.Unlock()
			if ch != nil {
				ch <- r.Code
			}
		default:
			if r.Forked != 0 && !r.Sibling {
				// Registered here, before Fork reads the reply: the child's
				// exit may be the very next line.
				p.mu.Lock()
				p.exits[r.Forked] = make(chan int, 1)
				p.mu.Unlock()
			}
			p.replies <- r
		}
	}
	p.setReady(0, fmt.Errorf("the preloader exited while importing: %s", p.lastWords()))
}

// setReady records the first outcome of the start.
func (p *Preloader) setReady(imported int, err error) {
	select {
	case <-p.ready:
		return
	default:
	}
	p.imported, p.readyErr = imported, err
	close(p.ready)
}

// lastWords says how the preloader ended, for a reason shown to the user.
func (p *Preloader) lastWords() string {
	p.mu.Lock()
	tail := p.tail
	p.mu.Unlock()
	if tail != "" {
		return text.Truncate(tail, 200)
	}
	select {
	case <-p.proc.Done():
		if code := p.proc.ExitCode(); code >= 0 {
			return fmt.Sprintf("it exited with status %d", code)
		}
		return "it was killed by a signal"
	default:
		return "it did not answer"
	}
}

// PID is the preloader's process id.
func (p *Preloader) PID() int { return p.proc.PID() }

// Ready is closed once the preloader can fork, or never will.
func (p *Preloader) Ready() <-chan struct{} { return p.ready }

// Err is why the preloader can't fork, or nil. Valid after Ready.
func (p *Preloader) Err() error { return p.readyErr }

// Advice is what the user can change so that the preloader could fork,
// when Err says it can't because of the project's code, or "". Valid after
// Ready.
func (p *Preloader) Advice() string { return p.advice }

// Imported is how many modules the preloader imported. Valid after Ready.
func (p *Preloader) Imported() int { return p.imported }

// Fork starts spec's process as a fork of the preloader: spec.Args (the
// shim's, as for a cold start), spec.Dir, spec.Env and spec.ExtraFiles
// (descriptors 3, 4, ... as for a cold start: the live browser's socket and
// ready pipe) apply; spec.Path must be the one the preloader was built for,
// and spec.Env may differ from its environment only in what a cold start
// reads after Django is set up. The error says why the fork
// was refused or failed, in words for the user: the caller then starts the
// process cold. After any error but ErrLoading the preloader is of no more
// use.
func (p *Preloader) Fork(spec supervisor.Spec) (*supervisor.Process, error) {
	select {
	case <-p.ready:
		if p.readyErr != nil {
			return nil, p.readyErr
		}
	default:
		return nil, ErrLoading
	}
	p.forkMu.Lock()
	defer p.forkMu.Unlock()
	return supervisor.StartWith(spec, func(stdin, stdout, stderr *os.File) (int, func() int, error) {
		msg, err := json.Marshal(contract.PreloadRequest{Fork: &contract.PreloadFork{Args: spec.Args, Dir: spec.Dir, Env: spec.Env}})
		if err != nil {
			return 0, nil, err
		}
		fds := []int{int(stdin.Fd()), int(stdout.Fd()), int(stderr.Fd())}
		for _, f := range spec.ExtraFiles {
			fds = append(fds, int(f.Fd()))
		}
		oob := rights(fds...)
		if _, _, err := p.conn.WriteMsgUnix(append(msg, '\n'), oob, nil); err != nil {
			return 0, nil, fmt.Errorf("the preloader exited: %s", p.lastWords())
		}
		timer := time.NewTimer(forkTimeout)
		defer timer.Stop()
		select {
		case r := <-p.replies:
			switch {
			case r.Forked != 0 && r.Sibling:
				return r.Forked, adopt(r.Forked), nil
			case r.Forked != 0:
				return r.Forked, p.waiter(r.Forked), nil
			case r.Stale != "":
				return 0, nil, errors.New(r.Stale)
			default:
				return 0, nil, fmt.Errorf("the preloader refused: %s", r.Error)
			}
		case <-p.gone:
			return 0, nil, fmt.Errorf("the preloader exited: %s", p.lastWords())
		case <-timer.C:
			go p.Kill()
			return 0, nil, fmt.Errorf("the preloader did not answer within %s", forkTimeout)
		}
	})
}

// waiter returns the wait of the preloader's child pid (not a sibling):
// its exit code as the preloader reports it. Should the preloader die
// first, the child lives on, and its end is seen by polling; its exit code
// is then unknown (-1).
func (p *Preloader) waiter(pid int) func() int {
	p.mu.Lock()
	ch := p.exits[pid]
	p.mu.Unlock()
	return func() int {
		select {
		case code := <-ch:
			return code
		case <-p.gone:
		}
		select {
		case code := <-ch:
			return code
		default:
			awaitGone(pid)
			return -1
		}
	}
}

// Retire stops the preloader taking forks. It exits once the servers it
// forked have; they serve on meanwhile, and their exit codes are still
// reported.
func (p *Preloader) Retire() {
	select {
	case <-p.ready:
	default:
		go p.Kill() // nothing forked from it yet
		return
	}
	if p.conn == nil || p.readyErr != nil {
		go p.Kill()
		return
	}
	p.forkMu.Lock()
	defer p.forkMu.Unlock()
	msg, _ := json.Marshal(contract.PreloadRequest{Retire: true}) // a bool: can't fail
	if _, err := p.conn.Write(append(msg, '\n')); err != nil {
		go p.Kill()
	}
}

// Kill ends the preloader at once and returns once it has exited. The
// servers it forked serve on, in their own process groups. No grace: a
// preloader has nothing to save, and one still loading takes an interrupt
// for a failed import and goes on.
func (p *Preloader) Kill() { p.proc.Stop(0) }

// Done is closed once the preloader has exited.
func (p *Preloader) Done() <-chan struct{} { return p.proc.Done() }
