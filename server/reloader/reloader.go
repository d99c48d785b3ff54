// Package reloader owns the Python side of reloading: the shim that runs
// inside Django's process (see shim.py), the preloader that warm reloads
// fork from (see preload.py), and the command line that starts runserver
// with the shim in each reload mode.
package reloader

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/django-runserver/django-runserver/protocol"
)

// files are the shim, what it loads beside it in fast mode: live.py (the
// kept socket: serving on it, ready, the drain before a reload), page.py
// (the reserved paths, the reload script in pages and its event stream)
// and live.js (that script), the preloader, and debug.py, which runs the
// shim under the debugger. What they share with the backend is declared in
// server/contract.
//
//go:embed shim.py live.py asgi.py page.py live.js preload.py debug.py
var files embed.FS

// Script is the browser script, which the backend serves too while a
// server is failed.
var Script = mustRead("live.js")

// WriteShim writes the shim and its files where Python can run them and
// returns the shim's path. The folder's name carries their hash, so
// concurrent backends of different versions never overwrite each other's.
func WriteShim() (string, error) { return writeScript("shim.py") }

// WritePreloader writes the preloader (see preload.py) beside the shim and
// returns its path.
func WritePreloader() (string, error) { return writeScript("preload.py") }

// writeScript writes every embedded file to the hashed folder and returns
// the path of one.
func writeScript(script string) (string, error) {
	h := sha256.New()
	for _, name := range names {
		h.Write(mustRead(name))
	}
	folder := "shim-" + hex.EncodeToString(h.Sum(nil)[:6])
	dir, err := os.UserCacheDir()
	if err == nil {
		dir = filepath.Join(dir, "django-runserver", folder)
		if err := writeAll(dir); err == nil {
			return filepath.Join(dir, script), nil
		}
	}
	dir, err = os.MkdirTemp("", "django-runserver-")
	if err == nil {
		dir = filepath.Join(dir, folder)
		err = writeAll(dir)
	}
	if err != nil {
		return "", fmt.Errorf("cannot write the reloader's %s: %w", script, err)
	}
	return filepath.Join(dir, script), nil
}

var names = []string{"shim.py", "live.py", "asgi.py", "page.py", "live.js", "preload.py", "debug.py"}

// Scripts are the names of the files WriteShim writes, beside the shim.
var Scripts = slices.Clone(names)

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

func writeAll(dir string) error {
	for _, name := range names {
		if err := write(dir, name, mustRead(name)); err != nil {
			return err
		}
	}
	return nil
}

// write puts content at dir/name atomically, unless it is there already.
func write(dir, name string, content []byte) error {
	p := filepath.Join(dir, name)
	if b, err := os.ReadFile(p); err == nil && bytes.Equal(b, content) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
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
