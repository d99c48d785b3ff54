package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
)

func TestResolveDefaultsAndOverrides(t *testing.T) {
	s, err := Resolve(
		map[string]any{"address": "8001", "args": []any{"--nothreading"}, "env": map[string]any{"A": "1"}},
		map[string]any{"address": "8002", "reload": "django", "serverPath": "ignored by the backend"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != "8002" || s.Reload != protocol.ReloadDjango || s.OnPortConflict != protocol.PortConflictAsk ||
		s.StartupTimeout != DefaultStartupTimeout || len(s.Args) != 1 || s.Env["A"] != "1" {
		t.Errorf("resolved %+v", s)
	}
	if d, _ := Resolve(nil, nil); d.Reload != protocol.ReloadFast {
		t.Errorf("default reload = %q", d.Reload)
	}
}

func TestResolveNamesEveryBadKey(t *testing.T) {
	_, err := Resolve(map[string]any{
		"address": 8000.0, "args": "--noreload", "env": map[string]any{"A": 1.0},
		"reload": "sometimes", "onPortConflict": true, "startupTimeout": -1.0,
	}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"djangoRunserver.address must be a string, not a number",
		"djangoRunserver.args must be an array of strings, not a string",
		"djangoRunserver.env must be an object of strings, not an object",
		`djangoRunserver.reload must be "fast", "django" or "off", not "sometimes"`,
		"djangoRunserver.onPortConflict must be",
		"djangoRunserver.startupTimeout must be a positive number",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	inv, ok := err.(*Invalid)
	if !ok {
		t.Fatalf("error %T, want *Invalid", err)
	}
	keys := []string{}
	for _, p := range inv.Problems {
		keys = append(keys, p.Key)
	}
	if want := "address args env onPortConflict reload startupTimeout"; strings.Join(keys, " ") != want {
		t.Errorf("problems for %v, want %s", keys, want)
	}
	flagged := inv.Words(func(key string) string { return "-" + key })
	if !strings.HasPrefix(flagged, "-address must be a string") || strings.Contains(flagged, "djangoRunserver") {
		t.Errorf("Words named the settings otherwise than asked: %s", flagged)
	}
}

func TestReadEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(p, []byte("\ufeff# comment\nexport A=1\nB = two words # note\nC=\"x\\ny\"\nD='$HOME; rm -rf /'\nE=\n\n"), 0o644)
	env, err := ReadEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "x\ny", "D": "$HOME; rm -rf /", "E": ""}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for body, line := range map[string]string{"A=1\nnot a pair\n": "line 2", "A=\"open\n": "line 1", "1A=x\n": "line 1"} {
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := ReadEnvFile(p); err == nil || !strings.Contains(err.Error(), line) {
			t.Errorf("%q: error %v, want one naming %s", body, err, line)
		}
	}
	if _, err := ReadEnvFile(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "cannot read the environment file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestEnvironLayers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".env"), []byte("A=file\nB=file\n"), 0o644)
	t.Setenv("RUN_MAIN", "inherited")
	env, err := Environ(dir, ".env", map[string]string{"B": "setting"}, map[string]string{"RUN_MAIN": ""})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	if got["A"] != "file" || got["B"] != "setting" || got["PYTHONUNBUFFERED"] != "1" {
		t.Errorf("env = A=%q B=%q PYTHONUNBUFFERED=%q", got["A"], got["B"], got["PYTHONUNBUFFERED"])
	}
	if _, ok := got["RUN_MAIN"]; ok {
		t.Error("RUN_MAIN was not cleared")
	}
}

func TestFindManagePy(t *testing.T) {
	root := t.TempDir()
	if _, err := FindManagePy(root, ""); err == nil || !errors.Is(err, ErrManagePyNotFound) {
		t.Errorf("empty folder: %v", err)
	}
	os.MkdirAll(filepath.Join(root, ".venv", "x"), 0o755)
	os.WriteFile(filepath.Join(root, ".venv", "x", "manage.py"), nil, 0o644)
	os.MkdirAll(filepath.Join(root, "site"), 0o755)
	os.WriteFile(filepath.Join(root, "site", "manage.py"), nil, 0o644)
	if p, err := FindManagePy(root, ""); err != nil || p != filepath.Join(root, "site", "manage.py") {
		t.Errorf("one level down: %q %v", p, err)
	}
	os.WriteFile(filepath.Join(root, "manage.py"), nil, 0o644)
	if p, _ := FindManagePy(root, ""); p != filepath.Join(root, "manage.py") {
		t.Errorf("root: %q", p)
	}
	if p, err := FindManagePy(root, "site/manage.py"); err != nil || p != filepath.Join(root, "site", "manage.py") {
		t.Errorf("setting: %q %v", p, err)
	}
	if _, err := FindManagePy(root, "nope.py"); err == nil {
		t.Error("a missing managePy setting was accepted")
	}
}

func TestFindPythonPrefersTheFolderVenv(t *testing.T) {
	root := t.TempDir()
	venvPy := venvPython(filepath.Join(root, ".venv"))
	os.MkdirAll(filepath.Dir(venvPy), 0o755)
	os.WriteFile(venvPy, nil, 0o755)
	if p, err := FindPython(root, root, ""); err != nil || p != venvPy {
		t.Errorf("venv: %q %v", p, err)
	}
	if p, err := FindPython(root, root, ".venv/bin/python"); err != nil || p != filepath.Join(root, ".venv/bin/python") {
		t.Errorf("relative setting: %q %v", p, err)
	}
	if _, err := FindPython(root, root, "/no/such/python"); err == nil || !errors.Is(err, ErrPythonNotFound) {
		t.Errorf("missing setting: %v", err)
	}
	if _, err := FindPython(root, root, "no-such-python-command"); err == nil {
		t.Error("a command not on PATH was accepted")
	}
}
