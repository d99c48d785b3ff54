//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Django's own ways of reloading, run as a developer runs them:
// `python manage.py runserver ADDR` in the project folder.
const (
	stat     = "StatReloader"
	watchman = "WatchmanReloader"
	noreload = "noreload" // --noreload: the floor restarts it by hand
)

// djangoRun is one `manage.py runserver` process group.
type djangoRun struct {
	cmd      *exec.Cmd
	exited   chan struct{}
	out      *tail
	mu       sync.Mutex
	reloader string // from "Watching for file changes with X"
	// log is the file the project's logging sends Django's messages to,
	// where the reloader's line is when it is not on the console.
	log string
}

var watchingRE = regexp.MustCompile(`Watching for file changes with (\w+)`)

// startDjango starts runserver in dir on port with the given reloader, and
// waits until url serves.
func startDjango(py, dir string, port int, reloader, url string) (*djangoRun, error) {
	args := []string{"manage.py", "runserver", fmt.Sprintf("127.0.0.1:%d", port)}
	environ := append(os.Environ(), "PYTHONUNBUFFERED=1")
	switch reloader {
	case noreload:
		args = append(args, "--noreload")
	case stat:
		// Django picks WatchmanReloader whenever pywatchman imports; a stub
		// that raises ImportError leaves it the StatReloader, as on a machine
		// without pywatchman.
		stub, err := pywatchmanStub(dir)
		if err != nil {
			return nil, err
		}
		environ = append(environ, "PYTHONPATH="+stub)
	}
	d := &djangoRun{exited: make(chan struct{}), out: &tail{}}
	d.cmd = exec.Command(py, args...)
	d.cmd.Dir = dir
	d.cmd.Env = environ
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = w, w
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go d.scan(r)
	go func() { _ = d.cmd.Wait(); w.Close(); close(d.exited) }()
	kill := atExit(func() { d.signal(syscall.SIGKILL) })
	go func() { <-d.exited; kill() }()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go func() {
		select {
		case <-d.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	if _, err := waitServed(ctx, url, ""); err != nil {
		d.kill()
		return nil, fmt.Errorf("runserver (%s) did not serve: %w%s", reloader, err, d.out.text())
	}
	return d, nil
}

func pywatchmanStub(dir string) (string, error) {
	stub := filepath.Join(dir, ".bench-stub")
	if err := os.MkdirAll(filepath.Join(stub, "pywatchman"), 0o755); err != nil {
		return "", err
	}
	return stub, os.WriteFile(filepath.Join(stub, "pywatchman", "__init__.py"),
		[]byte("raise ImportError('pywatchman disabled by the benchmark, to measure StatReloader')\n"), 0o644)
}

func (d *djangoRun) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if m := watchingRE.FindStringSubmatch(line); m != nil {
			d.mu.Lock()
			d.reloader = m[1]
			d.mu.Unlock()
		}
		_, _ = d.out.Write([]byte(line))
	}
	_, _ = io.Copy(io.Discard, r)
}

// reloaderName is the reloader Django said it uses, once it said so, on
// the console or in its log file.
func (d *djangoRun) reloaderName() string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.mu.Lock()
		name := d.reloader
		d.mu.Unlock()
		if b, err := os.ReadFile(d.log); name == "" && d.log != "" && err == nil {
			if m := watchingRE.FindAllSubmatch(b, -1); len(m) > 0 {
				name = string(m[len(m)-1][1])
			}
		}
		if name != "" || time.Now().After(deadline) {
			return name
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *djangoRun) pid() int { return d.cmd.Process.Pid }

func (d *djangoRun) signal(sig syscall.Signal) {
	_ = syscall.Kill(-d.cmd.Process.Pid, sig)
}

// kill ends the process group and waits for the process we started.
func (d *djangoRun) kill() {
	d.signal(syscall.SIGKILL)
	<-d.exited
}

// terminate is what the floor does on a change: SIGTERM, as an external
// restarter would, then wait.
func (d *djangoRun) terminate() {
	d.signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.kill()
	}
}

// describe names a reloader for the tables.
func describe(reloader string) string {
	switch reloader {
	case noreload:
		return "floor: instant detection, kill, cold `--noreload` start"
	}
	return "Django " + reloader
}

// djangoFellBack explains a run whose reloader is not the one asked for.
func djangoFellBack(want, got string) error {
	if got == want {
		return nil
	}
	if got == "" {
		return fmt.Errorf("Django did not say which reloader it uses")
	}
	// Django falls back to StatReloader, silently, when it cannot reach the
	// watchman service.
	return fmt.Errorf("Django chose %s instead of %s", got, want)
}
