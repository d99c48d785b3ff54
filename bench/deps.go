//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// env is what the run found on the machine.
type env struct {
	python          string
	pythonVersion   string
	djangoVersion   string
	bin             string // absolute path of the backend binary
	watchmanVersion string
	// watchmanUnavailable says why Django's WatchmanReloader can't be
	// measured; empty when it can.
	watchmanUnavailable string
}

// prepare installs what the run lacks and checks the rest.
func prepare(cfg *config) (*env, error) {
	e := &env{}
	var missing []string
	for _, pkg := range []string{"watchman", "python3-pywatchman"} {
		if exec.Command("dpkg", "-s", pkg).Run() != nil {
			missing = append(missing, pkg)
		}
	}
	py, err := findPython(cfg.python)
	if err != nil && (cfg.python == "" || py == "/usr/bin/python3") {
		// Debian's Django is what `make deps` installs; do the same here so a
		// bare `go run ./bench` works on a fresh machine.
		missing = append(missing, "python3-django")
	}
	if len(missing) > 0 {
		if err := aptInstall(missing); err != nil {
			// Without watchman its rows say why; without Django the check
			// below fails the run.
			progress("%v", err)
		}
		py, err = findPython(cfg.python)
	}
	if err != nil {
		return nil, err
	}
	e.python = py
	vers, err := output(py, "-c", "import sys, django; print('%d.%d.%d' % sys.version_info[:3], django.get_version())")
	if err != nil {
		return nil, fmt.Errorf("%s cannot import Django: %s", py, vers)
	}
	e.pythonVersion, e.djangoVersion, _ = strings.Cut(vers, " ")

	e.bin = cfg.bin
	if !filepath.IsAbs(e.bin) {
		e.bin = filepath.Join(cfg.root, e.bin)
	}
	if _, err := os.Stat(e.bin); err != nil {
		progress("building %s", e.bin)
		cmd := exec.Command("go", "build", "-o", e.bin, "./server/cmd/django-runserver")
		cmd.Dir = cfg.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cannot build the backend: %v\n%s", err, out)
		}
	}
	e.checkWatchman()
	return e, nil
}

// findPython returns the interpreter to use: the flag's, else the first of
// python3 and /usr/bin/python3 that imports Django.
func findPython(flagValue string) (string, error) {
	candidates := []string{"python3", "/usr/bin/python3"}
	if flagValue != "" {
		candidates = []string{flagValue}
	}
	for _, c := range candidates {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import django").Run() == nil {
			return p, nil
		}
		if flagValue != "" {
			return p, fmt.Errorf("%s cannot import Django: install it (apt-get install python3-django), or pass -python with an interpreter that has it", p)
		}
	}
	return "", errors.New("no Python with Django found: install python3-django, or pass -python")
}

func aptInstall(pkgs []string) error {
	progress("installing %s", strings.Join(pkgs, " "))
	apt := func(args ...string) *exec.Cmd {
		args = append([]string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get"}, args...)
		if os.Geteuid() != 0 {
			args = append([]string{"sudo"}, args...)
		}
		return exec.Command(args[0], args[1:]...)
	}
	if out, err := apt("update", "-qq").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %v\n%s", err, out)
	}
	if out, err := apt(append([]string{"install", "-y", "-qq"}, pkgs...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// checkWatchman makes sure the watchman service answers, starting it if
// needed, and that this Python can import pywatchman. Where either fails the
// WatchmanReloader rows say why instead of failing the run.
func (e *env) checkWatchman() {
	if err := exec.Command(e.python, "-c", "import pywatchman").Run(); err != nil {
		e.watchmanUnavailable = e.python + " cannot import pywatchman (Debian's python3-pywatchman serves only /usr/bin/python3)"
		return
	}
	wasRunning := len(pidsByComm("watchman")) > 0
	// `watchman version` starts the service when it is not running.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "watchman", "version").CombinedOutput()
	if err != nil {
		e.watchmanUnavailable = fmt.Sprintf("the watchman service does not answer: %v %s", err, firstLine(string(out)))
		return
	}
	if _, v, ok := strings.Cut(string(out), `"version": "`); ok {
		e.watchmanVersion, _, _ = strings.Cut(v, `"`)
	}
	if !wasRunning {
		atExit(func() { _ = exec.Command("watchman", "shutdown-server").Run() })
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return line
}
