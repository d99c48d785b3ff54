//go:build unix

package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/server/contract"
)

// openRecorder is a recorder that opens files.
type openRecorder struct {
	*recorder
	opened []string
}

func (o *openRecorder) OpensFiles() bool { return true }
func (o *openRecorder) OpenFile(path string, line int) {
	o.update(func() { o.opened = append(o.opened, path) })
}

// The engine checks again what a process asks it to open: only a file
// inside the workspace, whatever the process checked; the line is consumed
// either way, and a refusal says why.
func TestOpenLineOpensOnlyInsideTheWorkspace(t *testing.T) {
	root := t.TempDir()
	ws := filepath.Join(root, "ws")
	os.MkdirAll(ws, 0o755)
	inside := filepath.Join(ws, "views.py")
	outside := filepath.Join(root, "secret.py")
	for _, f := range []string{inside, outside} {
		os.WriteFile(f, []byte("x\n"), 0o644)
	}
	os.Symlink(outside, filepath.Join(ws, "link.py"))
	n := &openRecorder{recorder: newRecorder()}
	e := newEngine("file://"+ws, ws, n, Deps{})
	defer e.end()
	for _, req := range []string{
		`{"file":"` + outside + `","line":1}`,
		`{"file":"` + ws + `/../secret.py","line":1}`,
		`{"file":"` + ws + `/link.py","line":1}`,
		`{"file":"` + inside + `","line":0}`,
		`not json`,
	} {
		if !e.openLine(contract.OpenLinePrefix + req) {
			t.Errorf("the open line %s was not consumed", req)
		}
	}
	if e.openLine("Traceback (most recent call last):") {
		t.Error("a line of the project's output was taken for an open request")
	}
	e.openLine(contract.OpenLinePrefix + `{"file":"` + inside + `","line":3}`)
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.Equal(n.opened, []string{inside}) {
		t.Errorf("opened %v, want only %s", n.opened, inside)
	}
	refused := 0
	for _, m := range n.messages {
		if strings.Contains(m.Text, "only files inside the workspace folder open") || strings.Contains(m.Text, "nothing opened") {
			refused++
		}
	}
	if refused != 5 {
		t.Errorf("%d refusals said why, want 5: %+v", refused, n.messages)
	}
}
