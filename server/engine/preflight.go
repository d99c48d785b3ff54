package engine

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/text"
	"github.com/django-runserver/django-runserver/server/supervisor"
)

// preflightTimeout bounds the interpreter check.
const preflightTimeout = 30 * time.Second

// maxPreflightOutput bounds what is kept of the interpreter check's output:
// a "python" that floods its output must not grow our memory.
const maxPreflightOutput = 64 << 10

// maxQuoted bounds a line of someone else's output quoted in a message.
const maxQuoted = 200

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// preflight checks that python is a Python 3 that can import Django, so the
// user learns which of the two to fix.
func preflight(ctx context.Context, python, dir string, env []string) *protocol.Error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c",
		"import sys; print('python', sys.version_info[0]); sys.stdout.flush(); import django; print('django', django.get_version())")
	cmd.Dir, cmd.Env = dir, env
	supervisor.KillGroupOnCancel(cmd) // what the "python" started goes too
	out := &capped{max: maxPreflightOutput}
	cmd.Stdout, cmd.Stderr = out, out
	// A child of the interpreter may hold the output open after it is
	// killed: stop waiting for it soon after.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	perr := &protocol.Error{Code: protocol.CodePythonNotFound, Setting: "python"}
	if ctx.Err() == context.DeadlineExceeded {
		perr.Message = fmt.Sprintf("%s did not answer within %s when asked for its version, so it was stopped. Choose a Python 3 interpreter.", python, preflightTimeout)
		return perr
	}
	printed := out.String()
	var exitErr *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exitErr):
		perr.Message = fmt.Sprintf("Cannot run Python at %s: %v. Choose a Python 3 interpreter.", python, err)
	case !strings.Contains(printed, "python 3"):
		perr.Message = fmt.Sprintf("%s is not a Python 3 interpreter (it printed %q). Choose a Python 3 interpreter.", python, text.FirstLine(printed, maxQuoted))
	case !strings.Contains(printed, "\ndjango "):
		perr.Code = protocol.CodeDjangoNotFound
		perr.Message = fmt.Sprintf("%s cannot import Django (%s). Install Django in that environment (%s -m pip install django), or choose an interpreter that has it.",
			python, text.LastLine(printed, maxQuoted), python)
	default:
		return nil
	}
	return perr
}
