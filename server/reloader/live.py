"""django-runserver in the browser, loaded by shim.py in fast mode.

* DJANGO_RUNSERVER_LISTEN_FD: runserver's server serves on this inherited
  listening socket instead of binding. The backend bound it once and keeps
  it, so connections wait in its queue while the server reloads. Before a
  reload exits, the server stops accepting and lets the requests it took
  finish: what is queued goes to the next process.
* DJANGO_RUNSERVER_READY_FD: a pipe or a Unix socket; "ready" is written to
  it when the server is about to serve. The port can't tell: it always
  accepts into the queue. Without DJANGO_RUNSERVER_LISTEN_FD (a server's
  first process) runserver binds as it always does, so its own bind errors
  stand, and the socket goes to the backend with "ready" (SCM_RIGHTS): the
  backend keeps it for the next processes.
* DJANGO_RUNSERVER_BROWSER_RELOAD=1: HTML pages get one script tag, served
  with an event stream under RESERVED; the stream tells the page to reload
  once a new process serves, after a template change, or for a static file.

The server is patched at the class level (server_bind, serve_forever,
set_app, ...), which every supported Django shares; basehttp.run's signature
differs between versions.
"""
import array
import gc
import os
import queue
import secrets
import select
import selectors
import socket
import sys
import threading
import time
from urllib.parse import parse_qs

RESERVED = "/__django_runserver__/"
SCRIPT = RESERVED + "live.js"
EVENTS = RESERVED + "events"
# Each process has its own id: a page whose id differs from the server's
# was served by another process, and reloads once.
PROCESS_ID = secrets.token_hex(8)
RETRY_MS = 250  # how soon a browser reconnects once the stream ends
HEARTBEAT_S = 15  # a comment this often finds streams whose browser left
DRAIN_S = 5  # the longest a reload waits for requests already taken
# How long a reload waits for the first request of a connection it accepted:
# a client sends it right after connecting, though on a loaded machine not
# at once; a browser's speculative connection may never send one.
FIRST_REQUEST_S = 0.5

_SCRIPT_BODY = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "live.js"), "rb").read()


def install():
    listen_fd = _fd("DJANGO_RUNSERVER_LISTEN_FD")
    ready_fd = _fd("DJANGO_RUNSERVER_READY_FD")
    inject = os.environ.pop("DJANGO_RUNSERVER_BROWSER_RELOAD", "") == "1"
    if listen_fd is None and ready_fd is None and not inject:
        return
    from django.core.servers import basehttp
    from django.utils import autoreload

    _patch_server(basehttp.WSGIServer, listen_fd, ready_fd, inject)
    if listen_fd is not None or ready_fd is not None:  # the backend keeps the socket
        trigger = autoreload.trigger_reload

        def trigger_reload(filename):
            _drain()
            trigger(filename)

        autoreload.trigger_reload = trigger_reload
    if inject:
        _patch_reloader(autoreload.get_reloader)


def _fd(name):
    value = os.environ.pop(name, "")  # not for the project's own subprocesses
    if not value:
        return None
    fd = int(value)
    os.set_inheritable(fd, False)
    return fd


def _say_ready(fd, sock):
    """Writes "ready" on fd, with sock's descriptor when the process bound it."""
    if sock is None:
        os.write(fd, b"ready\n")
        os.close(fd)
        return
    with socket.socket(fileno=fd) as channel:
        fds = array.array("i", [sock.fileno()])
        channel.sendmsg([b"ready\n"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])


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
        _warm_up()
        _server = self
        if ready_fd is not None:
            _say_ready(ready_fd, None if listen_fd is not None else self.socket)
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
        set_app(self, _wrap(application, inject))

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


def _warm_up():
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
    want = ("GET " + RESERVED).encode()
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
            if getattr(self, "path", "").startswith(RESERVED):
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


def _drain():
    """Stop accepting and let the requests already taken finish: the next
    process answers what waits in the queue."""
    if _server is None:
        return
    _stopping.set()
    os.write(_wake_w, b"x")
    _stopped.wait(1)
    # Open pages' streams would hold the drain to its end: they end now, and
    # their browsers reconnect to the next process.
    with _streams_lock:
        for q in _streams:
            q.put(None)
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


# Event streams: one queue per open page.
_streams_lock = threading.Lock()
_streams = set()


def publish(event, data):
    message = ("event: %s\ndata: %s\n\n" % (event, data.replace("\n", " "))).encode()
    with _streams_lock:
        for q in _streams:
            q.put(message)


def _wrap(application, inject):
    def live(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(RESERVED):
            return _reserved(path, environ, start_response)
        if not inject or environ.get("REQUEST_METHOD") == "HEAD":
            return application(environ, start_response)
        return _inject(application, environ, start_response)

    return live


def _reserved(path, environ, start_response):
    if path == SCRIPT:
        start_response("200 OK", [("Content-Type", "text/javascript; charset=utf-8"),
                                  ("Content-Length", str(len(_SCRIPT_BODY))),
                                  ("Cache-Control", "no-cache")])
        return [_SCRIPT_BODY]
    if path == EVENTS:
        page = parse_qs(environ.get("QUERY_STRING", "")).get("page", [""])[0]
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        return _stream(page)
    body = b"Not found: django-runserver reserves " + RESERVED.encode() + b"\n"
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body)))])
    return [body]


def _stream(page):
    q = queue.Queue()
    with _streams_lock:
        _streams.add(q)
    try:
        yield ("retry: %d\n\n" % RETRY_MS).encode()
        if page != PROCESS_ID:
            # The page came from another process (or from the backend's page
            # of a failed server): this one serves now.
            yield b"event: reload\ndata: server\n\n"
            return
        while True:
            try:
                message = q.get(timeout=HEARTBEAT_S)
            except queue.Empty:
                message = b": ping\n\n"
            if message is None:
                return  # the process reloads
            yield message
    finally:
        with _streams_lock:
            _streams.discard(q)


_csp_logged = set()


def _inject(application, environ, start_response):
    held = {}

    def hold(status, headers, exc_info=None):
        if exc_info is not None or not _html(headers):
            held.clear()
            return start_response(status, headers, exc_info)
        held.update(status=status, headers=headers)
        return _no_write

    result = application(environ, hold)
    if not held or not _buffered(result):
        if held:  # a streamed HTML page: as it is
            start_response(held["status"], held["headers"])
        return result
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    headers = held["headers"]
    nonce, why = _csp(headers)
    at = _script_at(body)
    if why:
        path = environ.get("PATH_INFO", "")
        if path not in _csp_logged:
            _csp_logged.add(path)
            print("django-runserver: %s won't refresh by itself: %s" % (path, why), file=sys.stderr, flush=True)
    elif at >= 0:
        tag = '<script src="%s" data-page="%s"%s></script>' % (
            SCRIPT, PROCESS_ID, ' nonce="%s"' % nonce if nonce else "")
        body = body[:at] + tag.encode() + body[at:]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
    start_response(held["status"], headers)
    return [body]


def _script_at(body):
    """Where the script tag goes: before the last </body>; at the end of a
    whole document that omits it, as HTML allows; -1 for a fragment (an
    htmx partial, say), which stays as Django made it."""
    at = body.lower().rfind(b"</body>")
    if at < 0 and _document(body):
        at = len(body)
    return at


def _document(body):
    """Whether body is a whole document: after a byte order mark, white
    space and comments, it starts with a doctype or an <html> tag."""
    i = 3 if body.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while body[i:i + 1].isspace():
            i += 1
        if not body.startswith(b"<!--", i):
            break
        end = body.find(b"-->", i + 4)
        if end < 0:
            return False
        i = end + 3
    head = body[i:i + 9].lower()
    return head == b"<!doctype" or (head.startswith(b"<html") and head[5:6] in (b"", b">", b" ", b"\t", b"\n", b"\r", b"\f"))


def _buffered(result):
    """Whether result is a whole body in memory: Django's HttpResponse, not
    a StreamingHttpResponse or a FileResponse's file_wrapper, which stream
    as they always do."""
    from django.http import HttpResponse
    return isinstance(result, HttpResponse)


def _no_write(data):
    raise RuntimeError("django-runserver: write() is not supported while a page is held for the reload script")


def _html(headers):
    content_type = encoding = ""
    for key, value in headers:
        k = key.lower()
        if k == "content-type":
            content_type = value.lower()
        elif k == "content-encoding":
            encoding = value.strip().lower()
    return content_type.startswith("text/html") and encoding in ("", "identity")


def _csp(headers):
    """The nonce the script tag needs, and why a Content-Security-Policy
    would block the script or its event stream ("" when it allows them)."""
    nonce = ""
    for key, value in headers:
        if key.lower() != "content-security-policy":
            continue
        directives = {}
        for part in value.split(";"):
            words = part.split()
            if words:
                directives.setdefault(words[0].lower(), [w for w in words[1:]])
        default = directives.get("default-src")
        script = directives.get("script-src-elem", directives.get("script-src", default))
        connect = directives.get("connect-src", default)
        if script is not None:
            nonces = [s[7:-1] for s in script if s.startswith("'nonce-") and s.endswith("'")]
            if nonces:
                nonce = nonces[0]
            elif "'strict-dynamic'" in script or not _allows_self(script):
                return "", "its Content-Security-Policy forbids the script %s (allow 'self' in script-src)" % SCRIPT
        if connect is not None and not _allows_self(connect):
            return "", "its Content-Security-Policy forbids the event stream %s (allow 'self' in connect-src)" % EVENTS
    return nonce, ""


def _allows_self(sources):
    lowered = [s.lower() for s in sources]
    return any(s in ("'self'", "*", "http:", "https:") for s in lowered)


def _patch_reloader(reloader_cls):
    notify = reloader_cls.notify_file_changed

    def notify_file_changed(self, path):
        result = notify(self, path)  # a change that needs a restart never returns
        publish("reload", "template")
        return result

    reloader_cls.notify_file_changed = notify_file_changed
    watched = getattr(reloader_cls, "_watched", None)
    if watched is None:
        return

    def _watched(self, paths):
        _static_changed(paths)
        return watched(self, paths)

    reloader_cls._watched = _watched


_roots = None


def _static_roots():
    """The folders Django's staticfiles finders serve from."""
    global _roots
    if _roots is None:
        _roots = []
        try:
            from django.contrib.staticfiles import finders
            for finder in finders.get_finders():
                _roots += [os.path.realpath(root) for _, root in getattr(finder, "locations", [])]
                _roots += [os.path.realpath(s.location) for s in getattr(finder, "storages", {}).values()]
        except Exception:  # no staticfiles app, or settings it can't read
            pass
    return _roots


def _static_changed(paths):
    roots = _static_roots()
    css, other = [], False
    for path in paths:
        real = os.path.realpath(path)
        if not any(real.startswith(root + os.sep) for root in roots):
            continue
        if real.endswith(".css"):
            css.append(os.path.basename(real))
        else:
            other = True
    if other:
        publish("reload", "static")
    elif css:
        publish("css", " ".join(css))
