// Package reloader owns the Python side of reloading: the shim that runs
// inside Django's process (see shim.py), and the command line that starts
// runserver with it in each reload mode.
package reloader

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/django-runserver/django-runserver/protocol"
)

//go:embed shim.py
var shim []byte

// ExitReload is the exit code of Django's trigger_reload: restart at once.
const ExitReload = 3

// WriteShim writes the shim where Python can run it and returns its path.
// The file name carries its hash, so concurrent backends of different
// versions never overwrite each other's shim.
func WriteShim() (string, error) {
	p, err := writeScript("shim", shim)
	if err != nil {
		return "", fmt.Errorf("cannot write the reloader shim: %w", err)
	}
	return p, nil
}

// writeScript writes an embedded script as PREFIX-HASH.py in the user's
// cache folder, or else in a new temporary folder, and returns its path.
func writeScript(prefix string, content []byte) (string, error) {
	sum := sha256.Sum256(content)
	name := prefix + "-" + hex.EncodeToString(sum[:6]) + ".py"
	dir, err := os.UserCacheDir()
	if err == nil {
		dir = filepath.Join(dir, "django-runserver")
		if p, err := write(dir, name, content); err == nil {
			return p, nil
		}
	}
	dir, err = os.MkdirTemp("", "django-runserver-")
	if err != nil {
		return "", err
	}
	return write(dir, name, content)
}

func write(dir, name string, content []byte) (string, error) {
	p := filepath.Join(dir, name)
	if b, err := os.ReadFile(p); err == nil && string(b) == string(content) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return p, nil
}

// Args is the argv after the interpreter: the shim, the mode, then
// "manage.py runserver ADDRESS" and the user's arguments.
func Args(shimPath string, mode protocol.ReloadMode, managePy, address string, extra []string) []string {
	args := []string{shimPath, string(mode), managePy, "runserver", address}
	args = append(args, extra...)
	if mode == protocol.ReloadOff {
		args = append(args, "--noreload")
	}
	return args
}

// Env is the environment the mode needs. In fast mode RUN_MAIN=true (Django's
// DJANGO_AUTORELOAD_ENV) makes runserver serve in this one process, under the
// shim's reloader; otherwise RUN_MAIN is cleared so Django's own reloader
// starts its child as usual.
func Env(mode protocol.ReloadMode) map[string]string {
	if mode == protocol.ReloadFast {
		return map[string]string{"RUN_MAIN": "true"}
	}
	return map[string]string{"RUN_MAIN": ""}
}
