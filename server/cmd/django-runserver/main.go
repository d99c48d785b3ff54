// Command django-runserver runs Django's development server with fast
// reload, for an editor (--stdio, JSON-RPC) or in a terminal (run).
//
//	django-runserver --stdio
//	django-runserver run [flags] [DIR] [ADDR:PORT]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/django-runserver/django-runserver/server/config"
	"github.com/django-runserver/django-runserver/server/session"
	"github.com/django-runserver/django-runserver/server/terminal"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage:
  django-runserver --stdio                      serve an editor over JSON-RPC on stdin/stdout
  django-runserver run [flags] [DIR] [ADDRESS]  run DIR's Django server in this terminal
  django-runserver --version

run flags:
`

// runUsage is run -h: its arguments, then its flags.
const runUsage = `usage: django-runserver run [flags] [DIR] [ADDRESS]

Runs the Django project in DIR (default: the current folder) with fast reload,
as manage.py runserver ADDRESS would (default: 127.0.0.1:8000; 8001,
0:8000 and [::1]:8000 work too). Ctrl-C stops it.

flags:
`

func run(args []string, stdin io.ReadCloser, stdout, stderr io.WriteCloser) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		runFlags(stderr).PrintDefaults()
		return 2
	}
	switch args[0] {
	case "--stdio", "-stdio":
		logger := log.New(stderr, "django-runserver: ", log.LstdFlags)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return session.Serve(ctx, stdin, stdout, logger)
	case "run":
		return runTerminal(args[1:], stdout, stderr)
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, "django-runserver", session.Version)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		runFlags(stdout).PrintDefaults()
		return 0
	}
	fmt.Fprintf(stderr, "django-runserver: unknown command %q\n\n%s", args[0], usage)
	return 2
}

type runOptions struct {
	python, reload, managePy, envFile, onPortConflict string
	startupTimeout                                    float64
	args                                              stringList
	exclude                                           stringList
	watch                                             string
	pollInterval                                      float64
	noBrowserReload                                   bool
	preload                                           string
	debug, debugWait                                  bool
	editor                                            string
}

// pointers tells the user how to change each setting in this terminal:
// the flag of run that sets it. Messages about a setting end with it.
var pointers = map[string]string{
	"python":         "flag -python",
	"reload":         "flag -reload",
	"managePy":       "flag -manage-py",
	"envFile":        "flag -env-file",
	"onPortConflict": "flag -on-port-conflict",
	"args":           "flag -arg",
	"watchExclude":   "flag -exclude",
	"startupTimeout": "flag -startup-timeout",
	"watch":          "flag -watch",
	"pollInterval":   "flag -poll-interval",
	"browserReload":  "flag -no-browser-reload",
	"preload":        "flag -preload",
	"address":        "argument ADDRESS",
}

func runFlags(out io.Writer) *flag.FlagSet {
	fs, _ := newRunFlags(out)
	return fs
}

func newRunFlags(out io.Writer) (*flag.FlagSet, *runOptions) {
	o := &runOptions{}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.python, "python", "", "Python interpreter (default: .venv or venv in DIR, else python3 on PATH)")
	fs.StringVar(&o.reload, "reload", "fast", "reload mode: fast, django or off")
	fs.StringVar(&o.managePy, "manage-py", "", "path to manage.py (default: DIR/manage.py or one level down)")
	fs.StringVar(&o.envFile, "env-file", "", "dotenv file to load")
	fs.StringVar(&o.onPortConflict, "on-port-conflict", "fail", "when the port is taken: fail or nextFree")
	fs.Float64Var(&o.startupTimeout, "startup-timeout", 60, "seconds the server may take to accept connections")
	fs.Var(&o.args, "arg", "extra argument for runserver (repeatable)")
	fs.Var(&o.exclude, "exclude", "glob of paths not to watch (repeatable)")
	fs.StringVar(&o.watch, "watch", "auto", "how to notice changes: auto (events, polling on network, VM and WSL Windows folders), events or poll")
	fs.Float64Var(&o.pollInterval, "poll-interval", config.DefaultPollInterval, "seconds between two polls of a polled folder (at least 0.1)")
	fs.BoolVar(&o.noBrowserReload, "no-browser-reload", false, "in fast mode, leave HTML pages as Django made them: no script that reloads the open page")
	fs.StringVar(&o.preload, "preload", "auto", "fork reloads from a preloaded interpreter: auto (Linux), on (also macOS) or off")
	fs.StringVar(&o.editor, "editor", "", "command that opens a traceback frame clicked in the browser, with {file} and {line}, run as argv without a shell, e.g. 'code -g {file}:{line}' (default: the click copies file:line)")
	fs.BoolVar(&o.debug, "debug", false, "run each server process under debugpy, and print where a debugger (DAP) attaches, once: its session follows every reload; it serves at once")
	fs.BoolVar(&o.debugWait, "debug-wait", false, "as -debug, and the first process waits until a debugger attaches before it serves (requests wait meanwhile), as debugpy --wait-for-client")
	return fs, o
}

func runTerminal(args []string, stdout, stderr io.Writer) int {
	fs, o := newRunFlags(stderr)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	dir, address := ".", ""
	switch rest := fs.Args(); len(rest) {
	case 0:
	case 1:
		if looksLikeAddress(rest[0]) {
			address = rest[0]
		} else {
			dir = rest[0]
		}
	case 2:
		dir, address = rest[0], rest[1]
	default:
		fmt.Fprintf(stderr, "django-runserver: too many arguments\n\n%s", usage)
		return 2
	}
	var editor terminal.EditorCommand
	if o.editor != "" {
		var err error
		if editor, err = terminal.ParseEditor(o.editor); err != nil {
			fmt.Fprintf(stderr, "django-runserver: %v. See django-runserver run -h.\n", err)
			return 2
		}
	}
	settings := map[string]any{
		"python": o.python, "reload": o.reload, "managePy": o.managePy, "envFile": o.envFile,
		"address": address, "onPortConflict": o.onPortConflict,
		"args": []string(o.args), "watchExclude": []string(o.exclude),
		"startupTimeout": o.startupTimeout,
		"watch":          o.watch, "pollInterval": o.pollInterval,
		"browserReload": !o.noBrowserReload,
		"preload":       o.preload,
	}
	return terminal.Run(context.Background(), terminal.Options{
		Dir: dir, Settings: settings, Debug: o.debug, DebugWait: o.debugWait, Editor: editor,
		Flags:    args[:len(args)-len(fs.Args())], // flags end where the first argument starts
		Pointers: pointers,
		Stdout:   stdout, Stderr: stderr,
	})
}

// looksLikeAddress tells "8000" or "127.0.0.1:8000" from a directory.
func looksLikeAddress(s string) bool {
	if _, err := os.Stat(s); err == nil {
		return false
	}
	return strings.Trim(s, "0123456789") == "" || strings.Contains(s, ":")
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
