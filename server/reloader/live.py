"""django-runserver's kept socket, loaded by shim.py in fast mode: the
server serves on the backend's socket, says when it serves, and drains
before a reload exits. The page side (the reload script and its event
stream) is page.py's, beside this file.

* LISTEN_FD_ENV: runserver's server serves on this inherited listening
  socket instead of binding. The backend bound it once and keeps it, so
  connections wait in its queue while the server reloads. Before a reload
  exits, the server stops accepting and lets the requests it took finish:
  what is queued goes to the next process.
* READY_FD_ENV: a pipe or a Unix socket; READY is written to it when the
  server is about to serve. The port can't tell: it always accepts into the
  queue. Without LISTEN_FD_ENV (a server's first process) runserver binds as
  it always does, so its own bind errors stand, and the socket goes to the
  backend with READY (SCM_RIGHTS): the backend keeps it for the next
  processes.
* BROWSER_RELOAD_ENV=BROWSER_RELOAD_ON: HTML pages get the reload script
  (page.py).
* RUNSERVER_LINE: as soon as manage.py loads its runserver command, this
  process says on stderr which one it is, and whose server it runs: Django's
  (what this file patches), Daphne's, or a server of its own, which none of
  the above reaches. The backend then says which features are off, and why,
  instead of claiming them.

The server is patched at the class level (server_bind, serve_forever,
set_app, ...), which every supported Django shares; basehttp.run's signature
differs between versions. The names and words the backend shares with this
file are declared in Go, in server/contract; the reloader's TestContract
keeps them equal.
"""
import array
import gc
import json
import os
import select
import selectors
import socket
import sys
import threading
import time
import types

LISTEN_FD_ENV = "DJANGO_RUNSERVER_LISTEN_FD"
READY_FD_ENV = "DJANGO_RUNSERVER_READY_FD"
BROWSER_RELOAD_ENV = "DJANGO_RUNSERVER_BROWSER_RELOAD"
BROWSER_RELOAD_ON = "1"
READY = b"ready\n"
RUNSERVER_LINE = "django-runserver: runserver "
SERVER_DJANGO = "django"
SERVER_DAPHNE = "daphne"
SERVER_OTHER = "other"
# Where Daphne's runserver lives: Daphne's own, and Channels' before 4.0,
# which ran Daphne's server too.
_DAPHNE_MODULES = ("daphne.", "channels.")
DRAIN_S = 5  # the longest a reload waits for requests already taken
# How long a reload waits for the first request of a connection it accepted:
# a client sends it right after connecting, though on a loaded machine not
# at once; a browser's speculative connection may never send one.
FIRST_REQUEST_S = 0.5

# page.py, loaded by install().
_page = None


def install(shim):
    """Patch Django's server and reloader for what the backend asked, in
    the environment; shim is the module that loaded this one."""
    global _page
    listen_fd = _fd(LISTEN_FD_ENV)
    ready_fd = _fd(READY_FD_ENV)
    inject = os.environ.pop(BROWSER_RELOAD_ENV, "") == BROWSER_RELOAD_ON

    def daphne(command):  # Daphne's runserver: asgi.py, beside this file
        if listen_fd is not None or ready_fd is not None:
            shared = types.SimpleNamespace(warm_up=warm_up, say_ready=say_ready, on_drain=on_drain,
                                           end_streams=end_streams, DRAIN_S=DRAIN_S, FIRST_REQUEST_S=FIRST_REQUEST_S,
                                           page=_page, inject=inject)
            shim.load_beside("django_runserver_asgi", "asgi.py").patch(command, shared, listen_fd, ready_fd)

    _report_runserver(daphne)
    if listen_fd is None and ready_fd is None and not inject:
        return
    from django.core.servers import basehttp
    from django.utils import autoreload

    _page = shim.load_beside("django_runserver_page", "page.py")
    _patch_server(basehttp.WSGIServer, listen_fd, ready_fd, inject)
    if listen_fd is not None or ready_fd is not None:  # the backend keeps the socket
        trigger = autoreload.trigger_reload

        def trigger_reload(filename):
            _drain()
            trigger(filename)

        autoreload.trigger_reload = trigger_reload
    if inject:
        _page.patch_reloader(autoreload.get_reloader, shim.served_static)


def _report_runserver(daphne):
    """Say on stderr, when manage.py loads its runserver command, which one
    it is, and hand Daphne's to daphne. Django looks the command up by name
    in the installed apps, the first app's winning: Daphne's, staticfiles',
    or a project's own."""
    from django.core import management
    load = management.load_command_class

    def load_command_class(app_name, name):
        command = load(app_name, name)
        if name == "runserver":
            cls = type(command)
            server = server_of(cls)
            if server == SERVER_DAPHNE:
                daphne(command)
            said = {"command": cls.__module__, "app": app_name, "server": server}
            sys.stderr.write(RUNSERVER_LINE + json.dumps(said) + "\n")
            sys.stderr.flush()
        return command

    management.load_command_class = load_command_class


def server_of(cls):
    """Whose server the runserver command class cls runs: Django's when the
    command keeps runserver's run and inner_run (staticfiles' only changes
    the handler), Daphne's when Daphne's command defines them, else one of
    its own."""
    from django.core.management.commands import runserver
    if not issubclass(cls, runserver.Command):
        return SERVER_OTHER
    owners = {next(k for k in cls.__mro__ if name in vars(k)) for name in ("run", "inner_run")}
    if owners == {runserver.Command}:
        return SERVER_DJANGO
    if all(k.__module__.startswith(_DAPHNE_MODULES) for k in owners - {runserver.Command}):
        return SERVER_DAPHNE
    return SERVER_OTHER


def _fd(name):
    value = os.environ.pop(name, "")  # not for the project's own subprocesses
    if not value:
        return None
    fd = int(value)
    os.set_inheritable(fd, False)
    return fd


def say_ready(fd, sock):
    """Writes READY on fd, with sock's descriptor when the process bound it."""
    if sock is None:
        os.write(fd, READY)
        os.close(fd)
        return
    with socket.socket(fileno=fd) as channel:
        fds = array.array("i", [sock.fileno()])
        channel.sendmsg([READY], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])


class _Inherited(socket.socket):
    """The backend's socket: already bound, and listening with its backlog."""

    def bind(self, address):
        pass

    def listen(self, backlog=None):
        pass


# The running server, and what stops its loop before a reload.
_server = None
_wake_r, _wake_w = os.pipe()
_stopping = threading.Event()
_stopped = threading.Event()

# Connections accepted and not yet closed, by socket; a connection is busy
# from the request line read until its response is written.
_conns_lock = threading.Condition()
_conns = {}


def _patch_server(cls, listen_fd, ready_fd, inject):
    server_bind = cls.server_bind
    serve_forever = cls.serve_forever
    set_app = cls.set_app
    get_request = cls.get_request
    process_request = cls.process_request
    handlers = {}

    def bind(self):
        if listen_fd is not None:
            sock = _Inherited(fileno=os.dup(listen_fd))
            # Python's accept expects a blocking listener (on macOS a
            # connection inherits O_NONBLOCK from it).
            sock.setblocking(True)
            self.socket.close()
            self.socket = sock
        server_bind(self)

    def serve(self, poll_interval=0.5):
        global _server
        warm_up()
        _server = self
        if ready_fd is not None:
            say_ready(ready_fd, None if listen_fd is not None else self.socket)
        else:
            return serve_forever(self, poll_interval)
        # socketserver's loop, woken by a pipe instead of polling, so that a
        # reload stops accepting at once.
        with selectors.DefaultSelector() as sel:
            sel.register(self, selectors.EVENT_READ)
            sel.register(_wake_r, selectors.EVENT_READ)
            while not _stopping.is_set():
                ready = sel.select(poll_interval)
                if _stopping.is_set():
                    break
                if any(key.fileobj is self for key, _ in ready):
                    self._handle_request_noblock()
                self.service_actions()
        _stopped.set()

    def app(self, application):
        set_app(self, _page.wrap(application, inject))

    def finish_request(self, request, client_address):
        base = self.RequestHandlerClass
        handler = handlers.get(base)
        if handler is None:
            handler = handlers[base] = _handler(base)
        try:
            handler(request, client_address, self)
        finally:
            with _conns_lock:
                _conns.pop(request, None)
                _conns_lock.notify_all()

    def accept(self):
        # Counted from the accept on, not from its thread's start: a reload
        # that drains meanwhile must not miss it.
        request, client_address = get_request(self)
        with _conns_lock:
            _conns[request] = _Conn(request)
        return request, client_address

    def process(self, request, client_address):
        # Without threads (--nothreading) the event stream would take the one
        # thread: reserved requests get their own. A threading server never
        # calls this: ThreadingMixIn's comes first.
        if _peek_reserved(request):
            threading.Thread(target=_serve_apart, args=(self, request, client_address),
                             name="django-runserver-live", daemon=True).start()
            return
        process_request(self, request, client_address)

    cls.server_bind = bind
    cls.serve_forever = serve
    cls.set_app = app
    cls.finish_request = finish_request
    cls.get_request = accept
    cls.process_request = process


def warm_up():
    """Does before the server says it serves what its first request would
    otherwise pay for. runserver has built the middleware chain (the
    WSGIHandler's __init__) and imported the URLconf (its checks); the rest
    is left lazy. Each step only builds or imports what Django would on
    demand, in the same way, and runs nothing of the project's beyond
    imports; one that fails is skipped: the request that needs it meets the
    error again, and Django shows it as it always does."""
    from django.conf import settings
    from django.utils import translation

    try:  # the catalogs, and the language requests get without LocaleMiddleware
        language = translation.override(settings.LANGUAGE_CODE)
        language.__enter__()
    except Exception:
        language = None
    try:
        for step in (_warm_urls, _warm_templates, _warm_static, _warm_imports):
            try:
                step()
            except Exception:
                pass
    finally:
        if language is not None:
            language.__exit__(None, None, None)
    # What is loaded by now lives as long as the server: out of reach of the
    # collector, whose next full pass would otherwise walk all of it during
    # the first request (15-25 ms on a small project), as a preloader's
    # fork does for what it loaded.
    gc.freeze()


def _warm_urls():
    """The URL resolvers' reverse tables, which also compile every pattern:
    resolve() compiles only those it tries, reverse() and {% url %} build
    the tables on first use. A resolver builds its includes' tables too,
    but not those of a namespaced include (the admin's, an app_name's)."""
    from django.urls import URLResolver, get_resolver
    pending = [get_resolver()]
    while pending:
        resolver = pending.pop()
        resolver.reverse_dict
        pending += [p for p in resolver.url_patterns if isinstance(p, URLResolver)]


# Compiled, never rendered: it compiles the template language's own lazy
# patterns (variables, filters, arguments).
_WARM_TEMPLATE = '{% if a %}{{ a.b|default:"c" }}{% endif %}{% for d in e %}{% cycle "f" "g" %}{% endfor %}'


def _warm_templates():
    """The template engines, with every app's template tag libraries
    imported, their loaders and context processors."""
    from django.template import engines
    for backend in engines.all():
        engine = getattr(backend, "engine", None)  # DjangoTemplates
        if engine is None:
            continue
        engine.template_loaders
        engine.template_context_processors
        engine.from_string(_WARM_TEMPLATE)


def _warm_static():
    """The static file finders, which runserver's static handler and
    {% static %} in debug use."""
    from django.apps import apps
    if apps.is_installed("django.contrib.staticfiles"):
        from django.contrib.staticfiles import finders
        list(finders.get_finders())


def _warm_imports():
    """The modules that contrib's middleware imports by name, from
    settings, on its first request."""
    from django.apps import apps
    from django.conf import settings
    from django.utils.module_loading import import_string
    names = []
    if apps.is_installed("django.contrib.sessions"):
        names.append(getattr(settings, "SESSION_SERIALIZER", ""))
    if apps.is_installed("django.contrib.messages"):
        names.append(settings.MESSAGE_STORAGE)
    if apps.is_installed("django.contrib.auth"):
        names += settings.AUTHENTICATION_BACKENDS
    for name in names:
        try:
            if name:
                import_string(name)
        except Exception:
            pass


def _serve_apart(server, request, client_address):
    try:
        server.finish_request(request, client_address)
    except Exception:
        server.handle_error(request, client_address)
    finally:
        server.shutdown_request(request)


def _peek_reserved(request):
    want = ("GET " + _page.RESERVED).encode()
    try:
        request.settimeout(5)
        data = b""
        while len(data) < len(want) and want.startswith(data):
            more = request.recv(len(want), socket.MSG_PEEK)
            if len(more) <= len(data):
                break  # the client sent no more (or closed)
            data = more
        return data == want
    except OSError:
        return False
    finally:
        try:
            request.settimeout(None)
        except OSError:
            pass


class _Conn:
    __slots__ = ("sock", "busy", "served")

    def __init__(self, sock):
        self.sock = sock
        self.busy = False
        self.served = False  # a request was answered: idle now means kept alive


def _handler(base):
    class Handler(base):
        def setup(self):
            super().setup()
            self.rfile = _MarkingReader(self.rfile, self.request)

        def handle_one_request(self):
            try:
                super().handle_one_request()
            finally:
                _set_busy(self.request, False)

        def log_message(self, format, *args):
            if _page.reserved(getattr(self, "path", "")):
                return  # the browser's own requests to us: not the user's
            super().log_message(format, *args)

    return Handler


class _MarkingReader:
    """The request's reader: a line read marks the connection busy."""

    def __init__(self, inner, sock):
        self._inner, self._sock = inner, sock

    def readline(self, *args):
        line = self._inner.readline(*args)
        if line:
            _set_busy(self._sock, True)
        return line

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _set_busy(sock, busy):
    with _conns_lock:
        conn = _conns.get(sock)
        if conn is not None:
            conn.busy = busy
            conn.served = conn.served or not busy
        _conns_lock.notify_all()


# The drain of a server other than runserver's (asgi.py's, for Daphne), once
# it serves.
_drainer = None


def on_drain(drain):
    """Make drain, called from the reloader's thread, the drain before a
    reload exits."""
    global _drainer
    _drainer = drain


def end_streams():
    """End the open pages' event streams: their browsers reconnect to the
    next process."""
    if _page is not None:
        _page.end_streams()


def _drain():
    """Stop accepting and let the requests already taken finish: the next
    process answers what waits in the queue."""
    if _drainer is not None:
        _drainer()
        return
    if _server is None:
        return
    _stopping.set()
    os.write(_wake_w, b"x")
    _stopped.wait(1)
    # Open pages' streams would hold the drain to its end: they end now, and
    # their browsers reconnect to the next process.
    end_streams()
    deadline = time.monotonic() + DRAIN_S
    first = time.monotonic() + FIRST_REQUEST_S
    with _conns_lock:
        while time.monotonic() < deadline:
            busy = [c for c in _conns.values() if c.busy]
            idle = [c.sock for c in _conns.values() if not c.busy]
            try:  # a request that arrived but isn't read yet counts too
                pending = select.select(idle, [], [], 0)[0] if idle else []
            except (OSError, ValueError):
                pending = []
            # A connection accepted whose first request hasn't come yet: its
            # client is about to send it, and would see a reset.
            fresh = time.monotonic() < first and any(not c.busy and not c.served for c in _conns.values())
            if not busy and not pending and not fresh:
                return
            _conns_lock.wait(0.01)
