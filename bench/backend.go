//go:build linux

package main

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/django-runserver/django-runserver/internal/fakeeditor"
	"github.com/django-runserver/django-runserver/protocol"
)

// backend is our backend, driven as an editor drives it: a real
// `django-runserver --stdio` process spoken to over JSON-RPC by the fake
// editor the tests use too.
type backend struct {
	*fakeeditor.Editor
	initTime time.Duration // spawn until the initialize reply
}

// startBackend spawns the backend and initializes it with folder and
// settings, as VS Code would.
func startBackend(bin, folder string, settings map[string]any) (*backend, error) {
	cmd := exec.Command(bin, "--stdio")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	execAt := time.Now()
	ed, err := fakeeditor.Spawn(cmd)
	if err != nil {
		return nil, err
	}
	b := &backend{Editor: ed}
	kill := atExit(ed.Kill)
	go func() { <-ed.Done(); kill() }()
	if _, err := ed.Initialize(settings, folder); err != nil {
		ed.Kill()
		return nil, fmt.Errorf("%w%s", err, b.stderr())
	}
	b.initTime = time.Since(execAt)
	return b, nil
}

func (b *backend) pid() int { return b.PID() }

// djangoAt is when a status first named the current Django process: the
// backend reports a new process as soon as it has spawned it.
func (b *backend) djangoAt() time.Time {
	var at time.Time
	pid := 0
	for _, m := range b.Since(0) {
		if m.Method != protocol.MethodDidChangeStatus {
			continue
		}
		for _, st := range fakeeditor.Statuses([]fakeeditor.Message{m}, "") {
			if st.PID != 0 && st.PID != pid {
				at = m.At
			}
			pid = st.PID
		}
	}
	return at
}

// waitState waits until the latest status is in state.
func (b *backend) waitState(state protocol.State, timeout time.Duration) (protocol.Status, error) {
	var latest protocol.Status
	err := b.Await(timeout, 0, fakeeditor.Expectation{
		Description: "the latest state to be " + string(state),
		Check: func(msgs []fakeeditor.Message) fakeeditor.Verdict {
			// Only the latest status counts: decode none before it.
			i := len(msgs) - 1
			for i >= 0 && msgs[i].Method != protocol.MethodDidChangeStatus {
				i--
			}
			if i < 0 {
				return fakeeditor.Unmet
			}
			sts := fakeeditor.Statuses(msgs[i:i+1], "")
			if len(sts) == 0 {
				return fakeeditor.Unmet
			}
			switch latest = sts[0]; {
			case latest.State == state:
				return fakeeditor.Met
			case latest.State == protocol.StateFailed && latest.Error != nil:
				return fakeeditor.Unmeetable
			}
			return fakeeditor.Unmet
		},
	})
	if err != nil {
		return latest, fmt.Errorf("%w%s", err, b.stderr())
	}
	return latest, nil
}

// startServer starts the folder's server and waits until it accepts.
func (b *backend) startServer() error {
	if _, err := b.Start(""); err != nil {
		return err
	}
	_, err := b.waitState(protocol.StateRunning, 60*time.Second)
	return err
}

func (b *backend) stopServer() error {
	st, err := b.Stop("")
	if err != nil {
		return err
	}
	if st.State != protocol.StateStopped {
		return fmt.Errorf("runserver/stop replied %s", st.State)
	}
	return nil
}

func (b *backend) didSave(path string) error { return b.Save(path) }

// shutdown ends the backend as an editor does: shutdown, then exit.
func (b *backend) shutdown() error {
	err := b.Shutdown(15 * time.Second)
	if err != nil {
		b.Kill()
	}
	return err
}

func (b *backend) kill() { b.Kill() }

// stderr is the last lines the backend logged, indented under an error
// message.
func (b *backend) stderr() string {
	var t tail
	if s := b.Stderr(); s != "" {
		_, _ = t.Write([]byte(s))
	}
	return t.text()
}

// tail keeps the last lines a process wrote, to explain a failure.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		t.lines = append(t.lines, l)
	}
	if len(t.lines) > 20 {
		t.lines = t.lines[len(t.lines)-20:]
	}
	return len(p), nil
}

// text is the kept lines, indented under an error message.
func (t *tail) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return "\n    " + strings.Join(t.lines, "\n    ")
}
