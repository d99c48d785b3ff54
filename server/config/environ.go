package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Environ builds the Django process's environment: ours, then the envFile,
// then env, then extra (which the engine uses for its own variables).
// PYTHONUNBUFFERED is always set so output arrives line by line.
func Environ(folder, envFile string, env map[string]string, extra map[string]string) ([]string, error) {
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			vars[k] = v
		}
	}
	if envFile != "" {
		p := envFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(folder, p)
		}
		fileVars, err := ReadEnvFile(p)
		if err != nil {
			return nil, err
		}
		for k, v := range fileVars {
			vars[k] = v
		}
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range extra {
		if v == "" {
			delete(vars, k)
			continue
		}
		vars[k] = v
	}
	vars["PYTHONUNBUFFERED"] = "1"
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}
