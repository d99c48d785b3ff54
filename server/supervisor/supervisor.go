// Package supervisor runs one process tree: it starts a child in its own
// process group (a Job Object on Windows), streams its output line by line,
// feeds its stdin, and stops it: an interrupt first, a kill if it is still
// alive after a grace period, and a sweep of anything the child left behind.
package supervisor

import (
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Spec says what to run.
type Spec struct {
	Path string
	Args []string // after Path
	Dir  string
	Env  []string
	// ExtraFiles are inherited by the child as descriptors 3, 4, … (Unix):
	// the kept listening socket and the ready pipe of the live browser.
	ExtraFiles []*os.File
	// OnParentDeath is what the kernel does to the child when the backend
	// dies, where the OS offers it (Linux).
	OnParentDeath ParentDeath
	// OnLine receives each output line, without its line ending. It is called
	// from two goroutines, one per stream.
	OnLine func(stderr bool, line string)
}

// ParentDeath is what happens to a child when the backend dies.
type ParentDeath int

const (
	// KillOnParentDeath kills the child at once.
	KillOnParentDeath ParentDeath = iota
	// TerminateOnParentDeath asks the child to exit, for a child that must
	// take its own children down first.
	TerminateOnParentDeath
)

// Process is a running child.
type Process struct {
	pid   int
	tree  tree
	stdin io.WriteCloser

	stdinMu sync.Mutex // serializes writes to stdin

	done     chan struct{}
	exitCode int // valid after done; -1 when killed by a signal

	stopOnce sync.Once
}

// outputDrainTimeout bounds how long exit waits for the last output after
// the process ended; a grandchild may keep the pipes open.
const outputDrainTimeout = 500 * time.Millisecond

// Start starts spec's process.
func Start(spec Spec) (*Process, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.SysProcAttr = sysProcAttr(spec.OnParentDeath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return nil, err
	}
	// The child has its own copies; ours must close so reads end at EOF.
	outW.Close()
	errW.Close()
	return watch(spec, cmd.Process.Pid, stdin, outR, errR, func() int {
		_ = cmd.Wait() // the exit code says how it ended
		return cmd.ProcessState.ExitCode()
	}), nil
}

// watch supervises a started child: it streams outR and errR to
// spec.OnLine, and once wait returns the exit code, sweeps the child's
// process group and closes done.
func watch(spec Spec, pid int, stdin io.WriteCloser, outR, errR *os.File, wait func() int) *Process {
	p := &Process{pid: pid, stdin: stdin, done: make(chan struct{})}
	p.tree = newTree(pid)

	var readers sync.WaitGroup
	readers.Add(2)
	for _, s := range []struct {
		r      *os.File
		stderr bool
	}{{outR, false}, {errR, true}} {
		go func() {
			defer readers.Done()
			defer s.r.Close()
			ScanLines(s.r, MaxLine, func(line string) {
				if spec.OnLine != nil {
					spec.OnLine(s.stderr, line)
				}
			})
		}()
	}
	go func() {
		code := wait()
		// Whatever the child started and left running in its group goes too:
		// it would hold the port, or the pipes.
		p.tree.kill()
		drained := make(chan struct{})
		go func() { readers.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-time.After(outputDrainTimeout):
			outR.Close()
			errR.Close()
		}
		p.exitCode = code
		p.tree.release()
		close(p.done)
	}()
	return p
}

// PID is the child's process id.
func (p *Process) PID() int { return p.pid }

// Done is closed once the process has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit status, or -1 if a signal ended it. Valid after Done.
func (p *Process) ExitCode() int { return p.exitCode }

// Send writes one line to the child's stdin.
func (p *Process) Send(line string) error {
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// Stop interrupts the process tree, kills it if it is still alive after
// grace, and returns once it has exited. It is safe to call more than once.
func (p *Process) Stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		if err := p.tree.interrupt(); err != nil {
			p.tree.kill()
		}
		timer := time.AfterFunc(grace, p.tree.kill)
		defer timer.Stop()
		<-p.done
	})
	<-p.done
}
