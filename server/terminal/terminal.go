// Package terminal runs one folder's server in a terminal: the engine of
// the editor, with its reports printed as lines instead of sent as JSON-RPC.
package terminal

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/engine"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// Options are the terminal's settings, from the command line.
type Options struct {
	Dir      string
	Settings map[string]any // as djangoRunserver settings
	Stdout   io.Writer
	Stderr   io.Writer
}

// Run serves opts.Dir until Ctrl-C (or SIGTERM), then stops the server and
// returns the exit code: 0 after a clean stop, 1 if the server could not
// start at all.
func Run(ctx context.Context, opts Options) int {
	dir, err := filepath.Abs(opts.Dir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		fmt.Fprintf(opts.Stderr, "django-runserver: cannot open %s: %v\n", opts.Dir, err)
		return 2
	}
	settings, err := config.Resolve(opts.Settings, nil)
	if err != nil {
		fmt.Fprintf(opts.Stderr, "django-runserver: %v\n", err)
		return 2
	}
	p := &printer{out: opts.Stdout, err: opts.Stderr}
	e := engine.New(fileuri.FromPath(dir), dir, p)
	e.SetSettings(settings, nil)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st := e.Start("")
	code := 0
	if st.State == protocol.StateFailed {
		// Nothing runs, so nothing to wait for: the reason is printed.
		if st.Error != nil && st.Error.SuggestedAddress != "" {
			fmt.Fprintf(opts.Stderr, "django-runserver: to use the free port, run: django-runserver run %s %s (or pass -on-port-conflict nextFree)\n", opts.Dir, st.Error.SuggestedAddress)
		}
		code = 1
	} else {
		<-ctx.Done()
		fmt.Fprintln(opts.Stderr, "\ndjango-runserver: stopping")
	}
	e.Close()
	return code
}

// printer prints an engine's reports.
type printer struct {
	mu  sync.Mutex // keeps lines whole
	out io.Writer
	err io.Writer
}

func (p *printer) Status(protocol.Status) {} // LogMessage prints each state change in words

func (p *printer) Log(l protocol.LogParams) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.out
	if l.Stream == protocol.StreamStderr {
		w = p.err
	}
	fmt.Fprintln(w, l.Text)
}

func (p *printer) Diagnostics(string, []protocol.Diagnostic) {}

func (p *printer) ShowMessage(typ protocol.MessageType, msg string) {
	p.LogMessage(typ, msg)
}

func (p *printer) LogMessage(typ protocol.MessageType, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prefix := "django-runserver: "
	if typ == protocol.MessageError {
		prefix += "error: "
	}
	fmt.Fprintln(p.err, prefix+msg)
}

// Ask cannot ask in a terminal; the message already says what to do.
func (p *printer) Ask(context.Context, protocol.MessageType, string, ...string) string { return "" }
