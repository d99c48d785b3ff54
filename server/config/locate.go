package config

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// ErrManagePyNotFound is wrapped by FindManagePy's error.
var ErrManagePyNotFound = errors.New("manage.py not found")

// ErrPythonNotFound is wrapped by FindPython's error.
var ErrPythonNotFound = errors.New("python not found")

// skipDirs are never searched for manage.py, nor watched.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, "__pycache__": true,
	".venv": true, "venv": true, ".tox": true, ".nox": true, ".mypy_cache": true,
	".pytest_cache": true, ".ruff_cache": true, ".idea": true, ".vscode": true,
}

// SkipDir reports a directory that holds no project code: VCS data, caches,
// dependencies and virtualenvs.
func SkipDir(dir string) bool {
	name := filepath.Base(dir)
	if skipDirs[name] {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	return err == nil
}

// FindManagePy returns the folder's manage.py: the setting if given
// (relative to the folder), else manage.py at the root, else one level down.
func FindManagePy(folder, setting string) (string, error) {
	if setting != "" {
		p := setting
		if !filepath.IsAbs(p) {
			p = filepath.Join(folder, p)
		}
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("%w: the manage.py path %q is set, but %s is not a file. Fix that path", ErrManagePyNotFound, setting, p)
		}
		return p, nil
	}
	if p := filepath.Join(folder, "manage.py"); isFile(p) {
		return p, nil
	}
	entries, _ := os.ReadDir(folder)
	var found []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !SkipDir(filepath.Join(folder, e.Name())) {
			if p := filepath.Join(folder, e.Name(), "manage.py"); isFile(p) {
				found = append(found, p)
			}
		}
	}
	if len(found) > 0 {
		sort.Strings(found)
		return found[0], nil
	}
	return "", fmt.Errorf("%w in %s or the folders just below it. Open the folder of a Django project, or give the path to its manage.py", ErrManagePyNotFound, folder)
}

// FindPython returns the interpreter to run: the setting (a path relative to
// the folder, or a command on PATH), else a .venv or venv in the folder or
// beside manage.py, else python3 or python on PATH.
func FindPython(folder, manageDir, setting string) (string, error) {
	if setting != "" {
		p := setting
		if strings.ContainsAny(p, `/\`) || strings.HasPrefix(p, "~") {
			if strings.HasPrefix(p, "~") {
				if home, err := os.UserHomeDir(); err == nil {
					p = filepath.Join(home, p[1:])
				}
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(folder, p)
			}
			if !isFile(p) {
				return "", fmt.Errorf("%w: the interpreter %q is set, but %s does not exist. Fix it, or clear it to use the folder's virtualenv", ErrPythonNotFound, setting, p)
			}
			return p, nil
		}
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: the interpreter %q is set, but it is not on PATH. Give the interpreter's full path", ErrPythonNotFound, setting)
		}
		return found, nil
	}
	for _, dir := range uniq(folder, manageDir) {
		for _, venv := range []string{".venv", "venv"} {
			if p := venvPython(filepath.Join(dir, venv)); isFile(p) {
				return p, nil
			}
		}
	}
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no .venv or venv in %s, and neither python3 nor python is on PATH. Install Python, or choose an interpreter", ErrPythonNotFound, folder)
}

func venvPython(venv string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(venv, "Scripts", "python.exe")
	}
	return filepath.Join(venv, "bin", "python")
}

func uniq(a, b string) []string {
	if a == b || b == "" {
		return []string{a}
	}
	return []string{a, b}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
