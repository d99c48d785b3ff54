// Package terminal runs one folder's server in a terminal: the engine of
// the editor, with its reports printed as lines instead of sent as JSON-RPC.
// It is the terminal face of the product: where a message concerns a
// setting, it points to the command-line flag that sets it.
package terminal

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/engine"
	"github.com/django-runserver/django-runserver/server/fileuri"
)

// Options are the terminal's settings, from the command line.
type Options struct {
	Dir      string
	Settings map[string]any // as protocol.Settings, by JSON name
	// Flags are the flag arguments the user gave, as typed: a command this
	// terminal suggests repeats them.
	Flags []string
	// Pointers says, for a settings key, how the user sets it here: "flag
	// -python", "argument ADDRESS". Messages about that setting end with it.
	Pointers map[string]string
	Stdout   io.Writer
	Stderr   io.Writer
	// Debug runs the server under the debugger. It serves at once, unless
	// DebugWait: then its first process waits until a debugger attaches.
	Debug, DebugWait bool
	// Editor opens a traceback frame a page's user clicks (the -editor
	// flag); nil: the page copies "file:line" instead.
	Editor EditorCommand
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
		msg := err.Error()
		if inv, ok := err.(*config.Invalid); ok {
			msg = "invalid flags: " + inv.Words(opts.name)
		}
		fmt.Fprintf(opts.Stderr, "django-runserver: %s. See django-runserver run -h.\n", msg)
		return 2
	}
	p := &printer{out: opts.Stdout, err: opts.Stderr, pointers: opts.Pointers}
	if opts.Editor != nil {
		p.editor = &editor{cmd: opts.Editor, p: p}
		defer p.editor.runs.Wait()
	}
	e := engine.New(fileuri.FromPath(dir), dir, p)
	e.SetSettings(settings, nil)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := e.Start
	if opts.Debug || opts.DebugWait {
		wait := time.Duration(0)
		if opts.DebugWait {
			wait = engine.DebugWaitForever
		}
		start = func(address string) protocol.Status { return e.Debug(address, wait) }
	}
	st := start("")
	code := 0
	if st.State == protocol.StateFailed {
		// Nothing runs, so nothing to wait for: the reason is printed.
		if st.Error != nil && st.Error.SuggestedAddress != "" {
			fmt.Fprintf(opts.Stderr, "django-runserver: to use the free port, run: %s (or pass -on-port-conflict nextFree)\n",
				Command(opts.Flags, opts.Dir, st.Error.SuggestedAddress))
		}
		code = 1
	} else {
		<-ctx.Done()
		fmt.Fprintln(opts.Stderr, "\ndjango-runserver: stopping")
	}
	e.Close()
	return code
}

// name is what the terminal calls a setting: its flag or argument, from
// Pointers ("flag -python" names it -python), else its key.
func (o Options) name(key string) string {
	if p, ok := o.Pointers[key]; ok {
		if _, name, ok := strings.Cut(p, " "); ok {
			return name
		}
	}
	return key
}

// Command is the command line that runs dir on address with the user's
// own flags, quoted for a POSIX shell.
func Command(flags []string, dir, address string) string {
	words := []string{"django-runserver", "run"}
	for _, w := range append(append(flags[:len(flags):len(flags)], dir), address) {
		words = append(words, quote(w))
	}
	return strings.Join(words, " ")
}

// quote leaves a word that a shell reads as it is alone, and single-quotes
// any other.
func quote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%[]") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// printer prints an engine's reports.
type printer struct {
	mu       sync.Mutex // keeps lines whole
	out      io.Writer
	err      io.Writer
	pointers map[string]string
	editor   *editor // nil without -editor
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

func (p *printer) ShowMessage(m engine.Message) { p.LogMessage(m) }

func (p *printer) LogMessage(m engine.Message) {
	text := m.Text
	if m.Type == protocol.MessageError {
		text = "error: " + text
	}
	if ptr := p.pointers[m.Setting]; ptr != "" && m.Setting != "" {
		text += " (" + ptr + ")"
	}
	p.line(text)
}

// OpensFiles: with -editor, a page's click runs it.
func (p *printer) OpensFiles() bool { return p.editor != nil }

// OpenFile runs the -editor command for path at line.
func (p *printer) OpenFile(path string, line int) { p.editor.open(path, line) }

// line prints one line of our own.
func (p *printer) line(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.err, "django-runserver: "+text)
}

// DebugReady says nothing more: the engine's own line says where to attach.
func (p *printer) DebugReady(protocol.DebugReadyParams) {}

func (p *printer) DebugGone(protocol.DebugGoneParams) {}

// Ask cannot ask in a terminal; the message already says what to do.
func (p *printer) Ask(context.Context, protocol.MessageType, string, ...string) string { return "" }
