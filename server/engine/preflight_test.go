//go:build unix

package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/protocol"
)

// preflightOf runs the real interpreter check on a stand-in "python", a
// shell script.
func preflightOf(t *testing.T, script string) *protocol.Error {
	t.Helper()
	python := filepath.Join(t.TempDir(), "python")
	if err := os.WriteFile(python, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return preflight(context.Background(), python, t.TempDir(), os.Environ())
}

func TestPreflightTellsWhatToFix(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		code         protocol.ErrorCode
		want         string
	}{
		{"no django", "#!/bin/sh\necho python 3\necho \"ModuleNotFoundError: No module named 'django'\" >&2\nexit 1\n",
			protocol.CodeDjangoNotFound, "cannot import Django (ModuleNotFoundError: No module named 'django'). Install Django in that environment"},
		// Windows programs end their lines with \r\n: the message quotes the
		// line without its \r.
		{"windows program", "#!/bin/sh\nprintf 'Microsoft Windows 6.1.7601\\r\\n(c) Microsoft\\r\\n'\n",
			protocol.CodePythonNotFound, `is not a Python 3 interpreter (it printed "Microsoft Windows 6.1.7601")`},
		{"python 2", "#!/bin/sh\necho python 2\n", protocol.CodePythonNotFound, `(it printed "python 2")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perr := preflightOf(t, tc.script)
			if perr == nil || perr.Code != tc.code || perr.Setting != "python" || !strings.Contains(perr.Message, tc.want) {
				t.Fatalf("preflight = %+v\nwant %s about python, saying %q", perr, tc.code, tc.want)
			}
			if strings.Contains(perr.Message, "djangoRunserver") || strings.Contains(perr.Message, "-python") {
				t.Errorf("the message names a face's own words: %q", perr.Message)
			}
		})
	}
	if perr := preflightOf(t, "#!/bin/sh\necho python 3\necho django 5.2\n"); perr != nil {
		t.Errorf("a Python with Django failed: %+v", perr)
	}
}

// No message of the engine names an editor's setting.
func TestMessagesNameNoEditorSetting(t *testing.T) {
	r := newRig(t, fakeProber{taken: map[int]bool{8000: true}}, map[string]any{"startupTimeout": 1})
	r.e.Start("")
	r.e.Start("not an address")
	r.launch.check = func(context.Context) *protocol.Error { return preflightOf(t, "#!/bin/sh\necho python 3\nexit 1\n") }
	r.e.Start("9000")
	if got := r.rec.texts(); strings.Contains(got, "djangoRunserver") || strings.Count(got, "\n") < 3 {
		t.Errorf("messages name an editor's setting, or are missing:\n%s", got)
	}
}
