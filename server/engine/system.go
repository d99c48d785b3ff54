package engine

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/debugger"
	"github.com/django-runserver/django-runserver/server/listener"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/preload"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// systemDeps are the real seams.
func systemDeps() Deps {
	return Deps{Launcher: systemLauncher{}, Prober: portcheck.Local, Clock: systemClock{},
		Relays: systemRelays{}, Preloaders: systemPreloaders{}, Sockets: systemSockets{}}
}

// readyPoll is the interval between connection attempts while a server
// starts. A refused connect on loopback costs microseconds.
const readyPoll = 5 * time.Millisecond

// systemLauncher runs real processes under the supervisor.
type systemLauncher struct{}

func (systemLauncher) CheckPython(ctx context.Context, python, dir string, env []string) *protocol.Error {
	return preflight(ctx, python, dir, env)
}

func (systemLauncher) Start(spec supervisor.Spec) (Process, error) {
	p, err := supervisor.Start(spec)
	if err != nil {
		return nil, err
	}
	return &systemProcess{p}, nil
}

// systemProcess is a supervised process whose readiness is a TCP connect:
// never a log line, which LOGGING can silence and whose wording changes
// between Django versions.
type systemProcess struct{ *supervisor.Process }

func (p *systemProcess) AwaitReady(ctx context.Context, addr portcheck.Address, owned bool) bool {
	dial := addr.Dial()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-p.Done():
			return false
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if c, err := net.DialTimeout("tcp", dial, time.Second); err == nil {
			c.Close()
			if h := portcheck.Holder(addr.Port); !owned || h == nil || p.Owns(h.PID) {
				return true
			}
		}
		t.Reset(readyPoll)
	}
}

// systemClock is the time of day.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// systemPreloaders start real preloaders (server/preload).
type systemPreloaders struct{}

func (systemPreloaders) Start(s preload.Spec) (Preloader, error) {
	p, err := preload.Start(s)
	if err != nil {
		return nil, err
	}
	return systemPreloader{p}, nil
}

type systemPreloader struct{ *preload.Preloader }

func (p systemPreloader) Fork(spec supervisor.Spec) (Process, error) {
	proc, err := p.Preloader.Fork(spec)
	if err != nil {
		return nil, err
	}
	return &systemProcess{proc}, nil
}

// systemSockets are the machine's (server/listener). Where the platform
// can't hand a socket on (listener.Unsupported), the engine keeps none.
type systemSockets struct{}

func (systemSockets) NewReady() (ReadyChannel, error) {
	r, err := listener.NewReady()
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (systemSockets) Listen(a portcheck.Address) (KeptSocket, error) {
	ln, err := listener.Listen(a)
	if err != nil {
		return nil, err
	}
	return ln, nil
}

func (systemSockets) Adopt(a portcheck.Address, sock *os.File) (KeptSocket, error) {
	ln, err := listener.Adopt(a, sock)
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// systemRelays relay to a real debugpy adapter (server/debugger).
type systemRelays struct{}

func (systemRelays) Listen() (Relay, error) {
	r, err := debugger.Listen()
	if err != nil {
		return nil, err
	}
	return r, nil
}
