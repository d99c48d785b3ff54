package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/contract"
	"github.com/django-runserver/django-runserver/server/openframe"
)

// A click on a traceback frame in a page (live.js) reaches a server
// process, which checks it (page.py) and asks on stderr for the file to be
// opened (contract.OpenLinePrefix); or, while the server is failed, the
// engine's error page, which checks it with openframe. Either way the
// engine checks the path again and hands it to its Notifier, when that is
// an Opener that opens files.

// Opener is a Notifier that can open a file at a line in the user's
// editor: the editor's session, a terminal given an editor command.
type Opener interface {
	// OpensFiles reports whether OpenFile opens anything. Without it a
	// page's click copies "file:line" instead.
	OpensFiles() bool
	// OpenFile opens path, a real path inside the workspace, at line (one
	// based). It must not block: it is called from a process's reader.
	OpenFile(path string, line int)
}

// opener is the Notifier as an Opener that opens files, or nil.
func (e *Engine) opener() Opener {
	if o, ok := e.n.(Opener); ok && o.OpensFiles() {
		return o
	}
	return nil
}

// openEnv is what a process is told of frames to open: the workspace,
// and whether the engine opens them.
func (e *Engine) openEnv() []string {
	env := []string{contract.WorkspaceEnv + "=" + e.folder}
	if e.opener() != nil {
		env = append(env, contract.OpenEnv+"="+contract.OpenInEditor)
	}
	return env
}

// openLine opens what a process's open line asks for, and reports whether
// line was one, which no one else sees.
func (e *Engine) openLine(line string) bool {
	rest, ok := strings.CutPrefix(line, contract.OpenLinePrefix)
	if !ok {
		return false
	}
	var req contract.OpenRequest
	if err := json.Unmarshal([]byte(rest), &req); err != nil {
		e.log(protocol.MessageWarning, fmt.Sprintf("%s asked to open a file in words the backend can't read (%v): nothing opened.", e.name(), err))
		return true
	}
	e.openFile(req.File, req.Line)
	return true
}

// openFile opens file at line, if it is inside the workspace: the process
// or page that asked has checked it, and this checks again.
func (e *Engine) openFile(file string, line int) {
	o := e.opener()
	if o == nil {
		return
	}
	real, err := openframe.Resolve(e.folder, file)
	if err != nil || line < 1 {
		e.log(protocol.MessageWarning, fmt.Sprintf("%s: a page asked to open %s, line %d; refused: only files inside the workspace folder open (%v).", e.name(), file, line, err))
		return
	}
	o.OpenFile(real, line)
}

// pageOpen is the error page's way to open a file, or nil when a click
// copies instead.
func (e *Engine) pageOpen() func(file string, line int) {
	if e.opener() == nil {
		return nil
	}
	return e.openFile
}
