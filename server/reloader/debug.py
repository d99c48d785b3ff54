"""django-runserver's debug bootstrap: debugpy in the server process.

The backend runs:  python -Xfrozen_modules=off debug.py shim.py MODE manage.py runserver ADDRESS [args...]
or, for a warm reload, a preloader's child calls main_in_fork.

* It starts debugpy listening on a free loopback port (debugpy's adapter
  picks it), and says where on stderr, in the line the backend reads:
  "django-runserver: debugpy adapter listening on HOST:PORT". A process
  that inherits the backend's socket (a reload) does so before the
  project's code runs; the first process, which binds the address, once
  Django has loaded and checked the project and its server listens, right
  before it serves.
* It then waits for a debugger to attach and send configurationDone, so the
  first request after a start or a reload stops at its breakpoint; requests
  wait in the socket's queue meanwhile, never refused. After
  DEBUG_WAIT_ENV's seconds without one it says so, in a line the
  backend reads too, and serves anyway ("inf": it waits as long as it
  takes; 0: it serves at once).
* A reload lets the requests in flight answer first: live.py's drain,
  where the backend keeps the socket. The request a developer just let go
  from a breakpoint gets its reply.
* Then it runs the reloader shim as if Python had run it.
* Without debugpy it explains, and exits with EXIT_NO_DEBUGPY: the backend
  reports it with the command that installs debugpy.
"""
import contextlib
import os
import runpy
import socket
import sys
import threading

# Declared in Go, in server/contract, which the reloader's TestContract
# keeps equal to these.
# The exit status that says this interpreter cannot import debugpy.
EXIT_NO_DEBUGPY = 4
DEBUG_WAIT_ENV = "DJANGO_RUNSERVER_DEBUG_WAIT"
# Set in a process that inherits the kept socket (live.py's LISTEN_FD_ENV).
LISTEN_FD_ENV = "DJANGO_RUNSERVER_LISTEN_FD"
# The lines the backend reads on stderr.
DEBUG_LISTENING = "django-runserver: debugpy adapter listening on "
DEBUG_NOT_ATTACHED = "django-runserver: no debugger attached within "


def main():
    debugpy = _import_debugpy()
    sys.argv = sys.argv[1:]  # shim.py MODE manage.py ...: what the shim expects
    _debug(debugpy)
    runpy.run_path(sys.argv[0], run_name="__main__")


def main_in_fork(shim, argv):
    """A preloader's child under the debugger (a warm reload): the
    preloader imported debugpy and never started it; this process starts
    its own debug server, then runs the preloaded shim with argv."""
    debugpy = _import_debugpy()
    sys.argv = argv
    _debug(debugpy)
    shim.main()


def _import_debugpy():
    try:
        import debugpy
    except ImportError as exc:
        print(f"django-runserver: {sys.executable} cannot import debugpy ({exc})", file=sys.stderr, flush=True)
        sys.exit(EXIT_NO_DEBUGPY)
    return debugpy


def _debug(debugpy):
    """Start debugging as early as requests allow. A process that inherits
    the kept socket (every reload) starts now, before the project's code
    runs, and waits for the debugger here: requests wait in the socket's
    queue, and breakpoints in module-level code (a views.py, a URLconf)
    are hit. The first process binds the address itself: it starts once
    its server listens, so that no request is refused meanwhile."""
    _untrace_our_threads()
    if os.environ.get(LISTEN_FD_ENV):
        _listen_and_wait(debugpy)
    else:
        _debug_before_serving(debugpy)


def _untrace_our_threads():
    """The main thread runs our reloader, and the shim's threads feed it:
    left untraced, a change is judged and the process exits as fast as
    without the debugger; traced, resolving every watched module's path
    costs half a second. (pydevd's own marks for threads it must not
    trace, and for its own threads.) The main thread is left to the
    debugger until the reloader's loop starts: before it, it runs
    manage.py's set-up and imports the URLconf (Django's reloader does, to
    watch its modules), module-level code a breakpoint may be in. The
    shim's threads are marked as they start."""
    try:
        from django.utils import autoreload
        run_loop = autoreload.BaseReloader.run_loop
    except (ImportError, AttributeError):
        threading.main_thread().pydev_do_not_trace = True
    else:
        def run_loop_untraced(self):
            threading.current_thread().pydev_do_not_trace = True
            sys.settrace(None)
            return run_loop(self)

        autoreload.BaseReloader.run_loop = run_loop_untraced
    start = threading.Thread.start

    def start_ours_untraced(self):
        if self.name.startswith("django-runserver-"):
            self.pydev_do_not_trace = True
            self.is_pydev_daemon_thread = True
        return start(self)

    threading.Thread.start = start_ours_untraced


def _debug_before_serving(debugpy):
    """Start debugging, in the first process, once Django has loaded and
    checked the project and its server listens, right before it serves.
    The wait for a debugger comes after the listen, never before: a request sent meanwhile waits in the socket's
    queue and is served once the debugger has set its breakpoints, so it
    stops at them, instead of being refused. socketserver's __init__ binds,
    then activates (listens); the class is patched, as live.py patches it,
    before runserver makes its server."""
    try:
        from django.core.servers import basehttp
    except ImportError:
        _listen_and_wait(debugpy)  # manage.py will say what is wrong
        return
    activate = basehttp.WSGIServer.server_activate

    def server_activate(self):
        activate(self)
        _listen_and_wait(debugpy)

    basehttp.WSGIServer.server_activate = server_activate
    _debug_daphne(debugpy)


def _debug_daphne(debugpy):
    """Daphne's runserver (Channels projects) never makes runserver's
    WSGIServer: its command runs Daphne's Server. When manage.py loads that
    command, its server starts debugging before its reactor runs."""
    from django.core import management
    load = management.load_command_class

    def load_command_class(app_name, name):
        command = load(app_name, name)
        base = getattr(command, "server_cls", None)
        if name == "runserver" and isinstance(base, type) and base.__module__.startswith("daphne."):
            class Server(base):
                def run(self):
                    _listen_and_wait(debugpy)
                    return super().run()

            command.server_cls = Server
        return command

    management.load_command_class = load_command_class


def _listen_and_wait(debugpy):
    host, port = _listen(debugpy)
    _hide_our_files()
    print(f"{DEBUG_LISTENING}{host}:{port}", file=sys.stderr, flush=True)
    wait = float(os.environ.pop(DEBUG_WAIT_ENV, "0") or 0)
    if wait <= 0:
        return
    if wait == float("inf"):  # as debugpy --wait-for-client
        debugpy.wait_for_client()
        return
    expired = threading.Event()

    def give_up():
        expired.set()
        debugpy.wait_for_client.cancel()

    timer = threading.Timer(wait, give_up)
    timer.daemon = True
    timer.start()
    debugpy.wait_for_client()  # returns once the client sent configurationDone
    timer.cancel()
    if expired.is_set():
        print(f"{DEBUG_NOT_ATTACHED}{wait:g} s", file=sys.stderr, flush=True)


def _hide_our_files():
    """Keep the backend's files (this one, the shim, live.py, page.py, the
    preloader: all in this folder) out of the developer's call stacks and
    steps: pydevd's "don't trace" patterns make them its own internal files,
    never traced nor shown, whatever the debugger's justMyCode or rules
    (which it sets on attach, over PYDEVD_FILTERS). The code they call, the
    project's, is traced as before. pydevd is loaded by debugpy.listen."""
    pydevd = sys.modules.get("pydevd")
    api = sys.modules.get("_pydevd_bundle.pydevd_api")
    py_db = pydevd and pydevd.get_global_debugger()
    if api is None or py_db is None:
        return  # another debugpy's insides: our frames show, nothing breaks
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    api.PyDevdAPI().set_dont_trace_start_end_patterns(py_db, (here,), ())


def _listen(debugpy):
    """debugpy.listen, with the adapter it starts kept off our stdout and
    stderr. The adapter outlives this process by design, and Python's
    standard streams don't close their descriptors: it would hold the
    backend's pipes open after every exit, and the backend waits for them
    to end before the next reload. Nothing else prints while it starts:
    Django printed its banner, and serves only after this."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with _prompt_connection():
            return debugpy.listen(("127.0.0.1", 0))
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [devnull]:
            os.close(fd)


@contextlib.contextmanager
def _prompt_connection():
    """While debugpy.listen connects pydevd to its adapter, drop two waits
    that cost every debugged start and reload a fifth of a second, and
    change nothing else:

    * pydevd sleeps 100 ms once its reader and writer threads are started
      ("give threads time to start"), though Thread.start returns only
      once a thread runs, and whatever either sends or receives waits in
      its queue or the socket's anyway;
    * pydevd writes each message to the adapter as two sends, header then
      body: with Nagle's algorithm on, the body waits for the adapter's
      delayed ACK of the header, up to 40 ms on Linux, for each reply on
      the way to configurationDone (initialize, attach, and so on).
      TCP_NODELAY sends it at once, as the adapter and the relay send.

    Only the thread that connects skips the sleep; another debugpy's
    insides, without these names, are left as they are."""
    try:
        from debugpy.server import api  # noqa: F401 - what listen imports: pydevd
    except ImportError:
        yield
        return
    pydevd = sys.modules.get("pydevd")
    py_db = getattr(pydevd, "PyDB", None)
    connect = getattr(py_db, "initialize_network", None)
    clock = getattr(pydevd, "time", None)
    if connect is None or clock is None:
        yield
        return

    def initialize_network(self, sock, *args, **kwargs):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not a TCP socket: nothing to wait for
        pydevd.time = _NoSleepIn(clock, threading.get_ident())
        try:
            return connect(self, sock, *args, **kwargs)
        finally:
            pydevd.time = clock

    py_db.initialize_network = initialize_network
    try:
        yield
    finally:
        py_db.initialize_network = connect


class _NoSleepIn:
    """pydevd's time module, whose sleep returns at once in one thread."""

    def __init__(self, clock, thread):
        self._clock, self._thread = clock, thread

    def __getattr__(self, name):
        return getattr(self._clock, name)

    def sleep(self, seconds):
        if threading.get_ident() != self._thread:
            self._clock.sleep(seconds)


if __name__ == "__main__":
    main()
