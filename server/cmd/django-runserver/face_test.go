//go:build unix

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// The terminal is a face of its own: it points to its flags, never to an
// editor's settings.

// runTerminalCommand runs `django-runserver run args...` in this process.
func runTerminalCommand(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	code := run(append([]string{"run"}, args...), nil, out, out)
	printed, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return code, string(printed)
}

// With no Django importable by the python3 on PATH, `run` says what to
// install, and points to -python to choose another interpreter.
func TestTerminalWithoutDjangoPointsToThePythonFlag(t *testing.T) {
	python := testenv.Python(t)
	dir := testenv.Project(t, "mysite")
	bin := t.TempDir()
	// -S leaves site-packages out, where Django lives: a real Python 3
	// without Django, found as python3 on PATH.
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -S \"$@\"\n", python)
	if err := os.WriteFile(filepath.Join(bin, "python3"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	code, out := runTerminalCommand(t, dir, fmt.Sprint(testenv.FreePort(t)))
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(out, "cannot import Django") || !strings.Contains(out, "(flag -python)") {
		t.Errorf("the output does not say to install Django or to choose another interpreter with -python:\n%s", out)
	}
	if strings.Contains(out, "djangoRunserver") || strings.Contains(out, "settings.json") {
		t.Errorf("the output names an editor's setting:\n%s", out)
	}
}

// On a taken port, the suggested command repeats the flags the user gave.
func TestTerminalSuggestionKeepsTheUsersFlags(t *testing.T) {
	python := testenv.Python(t)
	dir := testenv.Project(t, "mysite")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	code, out := runTerminalCommand(t, "-python", python, "-reload", "fast", dir, fmt.Sprintf("127.0.0.1:%d", port))
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := fmt.Sprintf("to use the free port, run: django-runserver run -python %s -reload fast %s 127.0.0.1:", python, dir)
	if !strings.Contains(out, want) {
		t.Errorf("the suggestion does not repeat the flags; want %q in:\n%s", want, out)
	}
	if !strings.Contains(out, fmt.Sprintf("Port %d is in use by PID %d", port, os.Getpid())) || !strings.Contains(out, "(argument ADDRESS)") {
		t.Errorf("the conflict is not explained with its holder and a pointer to ADDRESS:\n%s", out)
	}
}

// Bad flag values are refused before anything runs, each named by its
// flag, and every bad one at once.
func TestTerminalNamesBadFlagValuesByTheirFlags(t *testing.T) {
	dir := testenv.Project(t, "mysite")
	code, out := runTerminalCommand(t, "-python", testenv.Python(t), "-poll-interval", "0.05", "-watch", "sometimes",
		"-startup-timeout", "-1", dir)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	for _, want := range []string{
		"-poll-interval must be at least 0.1 seconds, not 0.05",
		`-watch must be "auto", "events" or "poll", not "sometimes"`,
		"-startup-timeout must be a positive number of seconds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "djangoRunserver") || strings.Contains(out, "settings") {
		t.Errorf("the output names an editor's setting:\n%s", out)
	}
}

// run -h names its arguments before its flags.
func TestTerminalHelpShowsTheArguments(t *testing.T) {
	code, out := runTerminalCommand(t, "-h")
	if code != 0 {
		t.Errorf("run -h exited %d, want 0", code)
	}
	for _, want := range []string{"usage: django-runserver run [flags] [DIR] [ADDRESS]", "-python", "-preload"} {
		if !strings.Contains(out, want) {
			t.Errorf("run -h lacks %q:\n%s", want, out)
		}
	}
}
