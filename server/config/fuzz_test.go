package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadEnvFile: any file parses to variables with valid names, or to an
// error that names the file and never echoes a value.
func FuzzReadEnvFile(f *testing.F) {
	f.Add("A=1\nexport B='two words'\nC=\"x\\ny\" # c\n# comment\n\ufeffD=4\n")
	f.Add("A=\"unterminated\n")
	f.Add("my-key=s3cret\n")
	f.Add("=x\n")
	f.Add("A='x' y\n")
	f.Add("A=1\r\nB=2\r\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(dir, "fuzz.env")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		env, err := ReadEnvFile(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			// Values never reach messages: nothing after an "=" on any line
			// (longer than a few bytes, to skip coincidences) may appear.
			for _, line := range strings.Split(content, "\n") {
				if _, v, ok := strings.Cut(line, "="); ok {
					v = strings.TrimSpace(v)
					if len(v) >= 8 && strings.Contains(err.Error(), v) && !strings.Contains(p, v) {
						t.Fatalf("error %q echoes the value %q", err, v)
					}
				}
			}
			return
		}
		for k := range env {
			if !validName(k) {
				t.Fatalf("invalid variable name %q accepted", k)
			}
		}
	})
}

// FuzzResolve: any settings object resolves to valid settings, or to an
// error that says to fix them; it never panics.
func FuzzResolve(f *testing.F) {
	f.Add(`{"python":"/usr/bin/python3","address":"8000","args":["--nothreading"],"env":{"A":"1"},"reload":"fast","startupTimeout":5}`)
	f.Add(`{"args":"x","env":[],"reload":1,"onPortConflict":null,"startupTimeout":"10"}`)
	f.Add(`{"env":{"":"x","A=B":"y"},"watchExclude":[[]],"startupTimeout":-1}`)
	f.Add(`{"startupTimeout":1e308,"address":{"x":1}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var global map[string]any
		if json.Unmarshal([]byte(raw), &global) != nil {
			return
		}
		s, err := Resolve(global, map[string]any{"reload": global["reload"]})
		if err != nil {
			if !strings.Contains(err.Error(), "Fix them") {
				t.Fatalf("error %q does not say what to do", err)
			}
			return
		}
		switch s.Reload {
		case "fast", "django", "off":
		default:
			t.Fatalf("reload %q accepted", s.Reload)
		}
		if s.StartupTimeout <= 0 {
			t.Fatalf("startupTimeout %v accepted", s.StartupTimeout)
		}
	})
}
