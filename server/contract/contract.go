// Package contract is what the backend and the Python it embeds (the
// reloader package's shim.py, live.py, page.py, live.js, preload.py and
// debug.py) must agree on, declared once: environment variables, exit
// statuses, the words and lines one side writes and the other reads,
// reserved paths, event names and the preloader's messages.
//
// The Go side uses these declarations. Each Python or JavaScript file that
// uses an entry names it once, as a top-level constant, and uses that name
// everywhere else. The reloader package's TestContract checks every entry
// against those files: the constant is there with this value, and no inline
// copy of the value is left beside it, so neither side can drift alone.
//
// A leaf package: the listener, preload, errorpage and engine packages use
// it, and the reloader's tests use the listener.
package contract

// Environment variables the backend sets for the processes it starts.
const (
	// ListenFDEnv names the inherited descriptor of the listening socket
	// the backend keeps, on which a fast-mode server serves instead of
	// binding (live.py LISTEN_FD_ENV).
	ListenFDEnv = "DJANGO_RUNSERVER_LISTEN_FD"
	// ReadyFDEnv names the inherited descriptor on which a fast-mode server
	// writes ReadyLine once it serves, with its socket when it bound one
	// itself (live.py READY_FD_ENV).
	ReadyFDEnv = "DJANGO_RUNSERVER_READY_FD"
	// BrowserReloadEnv, set to BrowserReloadOn, makes a fast-mode server
	// give HTML pages the reload script (live.py BROWSER_RELOAD_ENV).
	BrowserReloadEnv = "DJANGO_RUNSERVER_BROWSER_RELOAD"
	// ModulesEnv names the file where the shim writes what its server
	// imported, once it serves: the preloaders import the same (shim.py
	// MODULES_ENV).
	ModulesEnv = "DJANGO_RUNSERVER_MODULES"
	// PreloadSocketEnv names the Unix socket the backend listens on for a
	// preloader's control connection (preload.py SOCKET_ENV).
	PreloadSocketEnv = "DJANGO_RUNSERVER_PRELOAD_SOCKET"
	// DebugWaitEnv is how many seconds the debug bootstrap waits for a
	// debugger to attach before it serves anyway (debug.py DEBUG_WAIT_ENV).
	DebugWaitEnv = "DJANGO_RUNSERVER_DEBUG_WAIT"
	// WorkspaceEnv names the workspace folder: a page's click opens only
	// files inside it (page.py WORKSPACE_ENV).
	WorkspaceEnv = "DJANGO_RUNSERVER_WORKSPACE"
	// OpenEnv, set to OpenInEditor, says the backend opens a clicked frame
	// in the user's editor (page.py writes OpenLinePrefix); otherwise the
	// page copies "file:line" (page.py OPEN_ENV).
	OpenEnv = "DJANGO_RUNSERVER_OPEN"
)

// OpenInEditor is OpenEnv's value when the backend opens files (page.py
// OPEN_IN_EDITOR).
const OpenInEditor = "editor"

// BrowserReloadOn is BrowserReloadEnv's value that turns the script on
// (live.py BROWSER_RELOAD_ON).
const BrowserReloadOn = "1"

// ReadyLine is what a fast-mode server writes on its ready descriptor when
// it is about to serve. The port can't tell: a kept socket always accepts
// into its queue (live.py READY).
const ReadyLine = "ready\n"

// Exit statuses of the shim and the debug bootstrap.
const (
	// ExitServerDied: the server thread ended before serving (an import
	// error, a failed system check); its traceback is on stderr (shim.py
	// EXIT_SERVER_DIED).
	ExitServerDied = 1
	// ExitReload: a watched module changed; Django's trigger_reload asks
	// for a new process at once (shim.py EXIT_RELOAD).
	ExitReload = 3
	// ExitNoDebugpy: the debug bootstrap's interpreter cannot import
	// debugpy (debug.py EXIT_NO_DEBUGPY).
	ExitNoDebugpy = 4
	// ExitInterrupted: an interrupt (the backend's stop, Ctrl-C) ended the
	// process, the status a shell reports for it, 128 + SIGINT: a stop
	// the interrupt ended, told from one the kill ended (shim.py
	// EXIT_INTERRUPTED).
	ExitInterrupted = 130
)

// Lines the debug bootstrap prints on stderr, which the backend reads.
const (
	// DebugListeningPrefix comes before "HOST:PORT", where debugpy's
	// adapter listens (debug.py DEBUG_LISTENING).
	DebugListeningPrefix = "django-runserver: debugpy adapter listening on "
	// DebugNotAttachedPrefix starts the line that says no debugger attached
	// within DebugWaitEnv's seconds, so the server serves without waiting
	// (debug.py DEBUG_NOT_ATTACHED).
	DebugNotAttachedPrefix = "django-runserver: no debugger attached within "
)

// RequestErrorPrefix starts the stderr line on which a server reports an
// exception a request raised, in every reload mode: the rest of the line is
// a RequestError in JSON. The backend reads the line and does not show it as
// output (shim.py REQUEST_ERROR).
const RequestErrorPrefix = "django-runserver: request error: "

// RunserverLinePrefix starts the stderr line on which a fast-mode process
// says which runserver command it runs, as soon as manage.py loads it and
// before it serves; a Runserver in JSON follows. The backend consumes the
// line: it decides which features that server can have (live.py
// RUNSERVER_LINE).
const RunserverLinePrefix = "django-runserver: runserver "

// Runserver is what a process says of its runserver command.
type Runserver struct {
	// Command is the command's module, e.g.
	// "daphne.management.commands.runserver".
	Command string `json:"command"`
	// App is the app that provides it, as Django names it ("django.core",
	// "daphne", "myapp").
	App string `json:"app"`
	// Server is whose server the command runs: one of the Server values.
	Server string `json:"server"`
}

// Whose server a runserver command runs (live.py SERVER_DJANGO,
// SERVER_DAPHNE, SERVER_OTHER).
const (
	// ServerDjango: runserver's own WSGI server (Django's command, or one
	// that keeps its inner_run, as staticfiles' does).
	ServerDjango = "django"
	// ServerDaphne: Daphne's runserver, which serves the ASGI application
	// on Twisted (Channels projects).
	ServerDaphne = "daphne"
	// ServerOther: a command that runs a server of its own.
	ServerOther = "other"
)

// RequestError is what a server reports of an exception a request raised
// (Django's got_request_exception), after RequestErrorPrefix.
type RequestError struct {
	Method string `json:"method"`
	// Path is the request's path, without the query string (request.path).
	Path string `json:"path"`
	// Exception is the type as a traceback prints it ("ZeroDivisionError",
	// "django.template.exceptions.TemplateSyntaxError"); Message is str().
	Exception string `json:"exception"`
	Message   string `json:"message"`
	// Frames is the traceback, oldest first: its deepest frames only.
	Frames []RequestFrame `json:"frames"`
	// Template is where in a template the exception arose, when Django's
	// template debug (DEBUG=True) says so.
	Template *TemplateSpot `json:"template,omitempty"`
}

// RequestFrame is one frame of a RequestError's traceback.
type RequestFrame struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Func string `json:"func"`
}

// TemplateSpot is a line of a template: File is its origin's name, a path
// for templates loaded from files; Line is 1-based.
type TemplateSpot struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Paths no project URL uses: the browser script and its event stream, served
// by a fast-mode server (page.py) and, while the server is failed, by the
// backend (errorpage).
const (
	// ReservedPath is the prefix of every reserved path; any other path under
	// it is answered 404 (page.py RESERVED).
	ReservedPath = "/__django_runserver__/"
	// ScriptPath serves live.js (page.py SCRIPT).
	ScriptPath = ReservedPath + "live.js"
	// EventsPath serves the event stream that tells a page when to reload
	// (page.py EVENTS, live.js EVENTS).
	EventsPath = ReservedPath + "events"
	// OpenPath opens a traceback frame's file at its line: a POST from the
	// page, same origin, with the page's token in OpenTokenHeader and an
	// OpenRequest as its body (page.py OPEN, live.js OPEN).
	OpenPath = ReservedPath + "open"
)

// OpenTokenHeader carries the per-process token the script tag gives the
// page (its data-token), without which OpenPath opens nothing. A custom
// header also makes a cross-origin request need a CORS preflight, which
// nothing answers (page.py TOKEN_HEADER, live.js TOKEN_HEADER).
const OpenTokenHeader = "X-Django-Runserver-Token"

// OpenRequest is OpenPath's body: a file as the page shows it (absolute,
// or relative to the workspace) and a one-based line. page.py writes it,
// with the file resolved, after OpenLinePrefix.
type OpenRequest struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// OpenReply is OpenPath's answer: Opened, or Copy, the "file:line" the
// page copies to the clipboard when no editor opens it.
type OpenReply struct {
	Opened bool   `json:"opened,omitempty"`
	Copy   string `json:"copy,omitempty"`
}

// OpenLinePrefix starts the stderr line on which a fast-mode server asks
// the backend to open a file, followed by an OpenRequest as JSON; the
// backend consumes the line (page.py OPEN_LINE).
const OpenLinePrefix = "django-runserver: open "

// Events of the event stream, which live.js acts on.
const (
	// EventReload makes the page reload; its data says why: "server" (a
	// new process serves), "failed" (the backend's error page), "template"
	// or "static" (page.py RELOAD_EVENT, live.js RELOAD_EVENT).
	EventReload = "reload"
	// EventCSS makes the page swap its stylesheets in place; its data names
	// the changed files (page.py CSS_EVENT, live.js CSS_EVENT).
	EventCSS = "css"
)

// StreamOpen is the comment line that opens every event stream, which
// sends the response's headers at once: the page's script then knows its
// stream is open, and reconnects at once when it ends (page.py
// STREAM_OPEN).
const StreamOpen = ": open"

// PreloadRequest is one line the backend writes on a preloader's control
// socket (preload.py reads it).
type PreloadRequest struct {
	// Fork asks for a new server, forked; the message carries its stdin,
	// stdout, stderr and extra descriptors (SCM_RIGHTS).
	Fork *PreloadFork `json:"fork,omitempty"`
	// Retire refuses further forks; the preloader exits once every child
	// has.
	Retire bool `json:"retire,omitempty"`
}

// PreloadFork is the server a fork starts, as a cold start would.
type PreloadFork struct {
	Args []string `json:"args"` // the shim's argv (reloader.Args)
	Dir  string   `json:"dir"`
	Env  []string `json:"env"`
}

// PreloadReply is one line a preloader writes on its control socket.
type PreloadReply struct {
	// Ready: the number of modules imported, once it can fork.
	Ready *int `json:"ready"`
	// Unsafe: why forking it would not be safe, with Ready.
	Unsafe string `json:"unsafe"`
	// Advice: what the user can change to make an unsafe preloader safe.
	Advice string `json:"advice"`
	// Forked: the pid of the new server.
	Forked int `json:"forked"`
	// Sibling: the forked child is the backend's own, to wait for.
	Sibling bool `json:"sibling"`
	// Stale: why it forks no more (a file it imported changed).
	Stale string `json:"stale"`
	// Error: why this fork failed.
	Error string `json:"error"`
	// Exit and Code: a child of the preloader's own ended, with Code (-1:
	// a signal).
	Exit int `json:"exit"`
	Code int `json:"code"`
}
