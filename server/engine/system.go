package engine

import (
	"context"
	"net"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/portcheck"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

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
