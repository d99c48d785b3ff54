"""django-runserver's page side, loaded by live.py when a fast-mode server
serves: the paths under RESERVED, the reload script in HTML pages, and the
event stream that tells open pages when to reload.

* Everything under RESERVED is answered here, never by the project: the
  script (live.js, beside this file) at SCRIPT, the event stream at EVENTS,
  404 for the rest.
* With the script on (live.py's BROWSER_RELOAD_ENV), a whole HTML page Django
  answers gets one script tag before its last </body>. The tag carries this
  process's id: a page whose id differs from the server's was served by
  another process, and its stream tells it to reload at once.
* A template change publishes a RELOAD_EVENT, a static file's too, and a
  stylesheet's a CSS_EVENT, which swaps stylesheets in place.
* A reload ends every stream (end_streams, from live.py's drain): browsers
  reconnect at once, and the connection waits in the kept socket's queue
  for the next process. A stream asked of this process after that (on a
  connection it had already accepted) ends at once too.
* A click on a traceback frame POSTs to OPEN (_open): only from the page's
  own origin, with this process's OPEN_TOKEN (the tag's data-token, apart
  from the id, which every stream request shows) in TOKEN_HEADER, for a
  file that resolves inside WORKSPACE_ENV's folder; anything else is 403
  and opens nothing. With OPEN_ENV=OPEN_IN_EDITOR the backend opens it,
  told by an OPEN_LINE on stderr; otherwise the page copies "file:line".

The names and words the backend shares with this file are declared in Go,
in server/contract; the reloader's TestContract keeps them equal.
"""
import ipaddress
import json
import os
import queue
import secrets
import sys
import threading
from urllib.parse import parse_qs, urlsplit

RESERVED = "/__django_runserver__/"
SCRIPT = RESERVED + "live.js"
EVENTS = RESERVED + "events"
RELOAD_EVENT = "reload"
CSS_EVENT = "css"
# Opens every stream, so that its headers go at once: the page's script
# then knows the stream is open, and reconnects at once when it ends.
STREAM_OPEN = ": open"
# Each process has its own id: a page whose id differs from the server's
# was served by another process, and reloads once.
PROCESS_ID = secrets.token_hex(8)
OPEN = RESERVED + "open"
TOKEN_HEADER = "X-Django-Runserver-Token"
OPEN_LINE = "django-runserver: open "
WORKSPACE_ENV = "DJANGO_RUNSERVER_WORKSPACE"
OPEN_ENV = "DJANGO_RUNSERVER_OPEN"
OPEN_IN_EDITOR = "editor"
MAX_OPEN_BODY = 64 * 1024
# The token a page's click must carry: in the script tag only, since the id
# travels in every stream URL.
OPEN_TOKEN = secrets.token_hex(16)
_WORKSPACE = os.environ.pop(WORKSPACE_ENV, "")
_OPENS_IN_EDITOR = os.environ.pop(OPEN_ENV, "") == OPEN_IN_EDITOR
HEARTBEAT_S = 15  # a comment this often finds streams whose browser left

_SCRIPT_BODY = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "live.js"), "rb").read()


def reserved(path):
    """Whether path is ours, not the project's."""
    return path.startswith(RESERVED)


# Event streams: one queue per open page.
_streams_lock = threading.Lock()
_streams = set()
_ended = False  # the process reloads: no stream stays open


def publish(event, data):
    """Send event to every open page."""
    message = _event(event, data)
    with _streams_lock:
        for q in _streams:
            q.put(message)


def end_streams():
    """End every open page's stream: the process reloads, and would
    otherwise wait for them. Their browsers reconnect to the next one."""
    global _ended
    with _streams_lock:
        _ended = True
        for q in _streams:
            q.put(None)


def _event(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, data.replace("\n", " "))).encode()


def wrap(application, inject):
    """The server's WSGI application: application, with RESERVED answered
    here and, when inject, the script in its HTML pages."""

    def live(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if reserved(path):
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
    if path == OPEN:
        return _open(environ, start_response)
    body = b"Not found: django-runserver reserves " + RESERVED.encode() + b"\n"
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body)))])
    return [body]


def _stream(page):
    q = queue.Queue()
    with _streams_lock:
        if _ended:
            q.put(None)
        _streams.add(q)
    try:
        yield (STREAM_OPEN + "\n\n").encode()
        if page != PROCESS_ID:
            # The page came from another process (or from the backend's page
            # of a failed server): this one serves now.
            yield _event(RELOAD_EVENT, "server")
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


def _open(environ, start_response):
    """Open the frame a page's user clicked, after the checks (see the
    module's docstring), or answer 403."""
    try:
        path, line = _open_request(environ)
    except _Refused as why:
        body = ("Forbidden: django-runserver opens nothing for this request: %s.\n" % why).encode()
        start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    if _OPENS_IN_EDITOR:
        print(OPEN_LINE + json.dumps({"file": path, "line": line}, separators=(",", ":")), file=sys.stderr, flush=True)
        reply = {"opened": True}
    else:
        reply = {"copy": "%s:%d" % (path, line)}
    body = json.dumps(reply, separators=(",", ":")).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                              ("Content-Length", str(len(body)))])
    return [body]


class _Refused(Exception):
    pass


def _open_request(environ):
    """The real path and line an open request may open, or _Refused."""
    if environ.get("REQUEST_METHOD") != "POST":
        raise _Refused("only POST opens a file")
    host = environ.get("HTTP_HOST", "")
    _same_origin(environ.get("HTTP_ORIGIN", ""), environ.get("HTTP_SEC_FETCH_SITE", ""), host)
    _reached_by_address(host)
    token = environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), "")
    if not secrets.compare_digest(token.encode(), OPEN_TOKEN.encode()):
        raise _Refused("the page's token is missing or wrong")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 < length <= MAX_OPEN_BODY:
        raise _Refused("the body is missing or too long")
    try:
        request = json.loads(environ["wsgi.input"].read(length))
        file, line = request["file"], request["line"]
    except (ValueError, KeyError, TypeError) as e:
        raise _Refused("the body is not an open request: %s" % e)
    if not isinstance(file, str) or not file or type(line) is not int or line < 1:
        raise _Refused("the body is not an open request")
    return _inside_workspace(file), line


def _same_origin(origin, fetch_site, host):
    """As the backend's openframe.SameOrigin: the Origin is the host the
    request was sent to, or, without one, the browser says same-origin."""
    if fetch_site and fetch_site != "same-origin":
        raise _Refused("the request came from another site (Sec-Fetch-Site: %s)" % fetch_site)
    if origin:
        if not host or origin != "http://" + host:
            raise _Refused("the request came from %s, not from this server's pages" % origin)
    elif fetch_site != "same-origin":
        raise _Refused("the request says neither its Origin nor that it is same-origin")


def _reached_by_address(host):
    """As the backend's openframe.ReachedByAddress: the Host is an IP
    address or localhost, which no other site's name (DNS rebinding) can
    be."""
    name = urlsplit("//" + host).hostname or ""
    if name == "localhost" or name.endswith(".localhost"):
        return
    try:
        ipaddress.ip_address(name)
    except ValueError:
        raise _Refused("the page was reached by the name %r: only pages reached by an IP address or localhost "
                       "open files, so that no other site's name can point here" % name)


def _inside_workspace(file):
    if not _WORKSPACE:
        raise _Refused("no workspace folder")
    root = os.path.realpath(_WORKSPACE)
    real = os.path.realpath(os.path.join(root, file))  # an absolute file stays itself
    try:
        inside = os.path.commonpath([root, real]) == root
    except ValueError:  # another drive
        inside = False
    if not inside:
        raise _Refused("%s is outside the workspace folder %s" % (real, root))
    if not os.path.isfile(real):
        raise _Refused("%s is not a file" % real)
    return real


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
    headers, body = _with_script(environ.get("PATH_INFO", ""), held["headers"], body)
    start_response(held["status"], headers)
    return [body]


def _with_script(path, headers, body):
    """The headers and body of a whole HTML page, with the script tag where
    it goes (none in a fragment, nor where a Content-Security-Policy forbids
    it, which is logged once per path)."""
    nonce, why = _csp(headers)
    at = _script_at(body)
    if why:
        if path not in _csp_logged:
            _csp_logged.add(path)
            print("django-runserver: %s won't refresh by itself: %s" % (path, why), file=sys.stderr, flush=True)
    elif at >= 0:
        tag = '<script src="%s" data-page="%s" data-token="%s"%s></script>' % (
            SCRIPT, PROCESS_ID, OPEN_TOKEN, ' nonce="%s"' % nonce if nonce else "")
        body = body[:at] + tag.encode() + body[at:]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
    return headers, body


# ASGI (Daphne's runserver): the same rules, around the project's ASGI
# application. HTTP only: WebSocket and lifespan scopes pass through.

def wrap_asgi(application, inject):
    """The server's ASGI application: application, with RESERVED answered
    here (by the WSGI code above, in a thread of its own) and, when inject,
    the script in its whole HTML pages."""
    _mark_streaming()

    async def live(scope, receive, send):
        if scope["type"] != "http":
            return await application(scope, receive, send)
        path = scope.get("path", "")
        if reserved(path):
            return await _asgi_reserved(path, scope, receive, send)
        if not inject or scope.get("method") == "HEAD":
            return await application(scope, receive, send)
        return await _asgi_inject(application, scope, receive, send)

    return live


# The attribute Django's ASGI handler sets on the send it is given, when
# that is ours: whether the response streams (StreamingHttpResponse,
# FileResponse). ASGI's messages can't tell: Django sends a buffered body
# in chunks too.
_STREAMING = "django_runserver_streaming"


def _mark_streaming():
    from django.core.handlers import asgi
    handler = asgi.ASGIHandler
    if getattr(handler.send_response, "django_runserver", False):
        return
    send_response = handler.send_response

    async def marked(self, response, send):
        if hasattr(send, _STREAMING):
            setattr(send, _STREAMING, bool(response.streaming))
        return await send_response(self, response, send)

    marked.django_runserver = True
    handler.send_response = marked


async def _asgi_inject(application, scope, receive, send):
    held = []  # the start message of a whole HTML page, then its body's chunks

    async def hold(message):
        kind = message["type"]
        if kind == "http.response.start":
            if _html(_str_headers(message.get("headers", []))) and not getattr(hold, _STREAMING):
                held.append(message)
                return
        elif held and kind == "http.response.body":
            held.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            start = held[0]
            headers, body = _with_script(scope.get("path", ""), _str_headers(start.get("headers", [])), b"".join(held[1:]))
            del held[:]
            await send(dict(start, headers=_bytes_headers(headers)))
            return await send({"type": "http.response.body", "body": body})
        return await send(message)

    setattr(hold, _STREAMING, False)
    return await application(scope, receive, hold)


def _str_headers(headers):
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


def _bytes_headers(headers):
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def _asgi_reserved(path, scope, receive, send):
    """Answer a reserved path as the WSGI side does: the request as WSGI's
    environ, the answer (an event stream too) from a thread of its own."""
    import asyncio
    import io
    body = b""
    if scope.get("method") == "POST":  # an open request: small, and bounded
        more = True
        while more and len(body) <= MAX_OPEN_BODY:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
    environ = {"REQUEST_METHOD": scope.get("method", "GET"), "PATH_INFO": path,
               "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"), "wsgi.input": io.BytesIO(body)}
    for key, value in _str_headers(scope.get("headers", [])):
        name = key.upper().replace("-", "_")
        environ[name if name in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + name] = value
    loop = asyncio.get_running_loop()
    answers = asyncio.Queue()
    gone = threading.Event()

    def answer():
        def put(item):
            loop.call_soon_threadsafe(answers.put_nowait, item)

        result = None
        try:
            result = _reserved(path, environ, lambda status, headers, exc_info=None: put((status, headers)))
            for chunk in result:
                if gone.is_set():
                    break
                put(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
            put(None)

    threading.Thread(target=answer, name="django-runserver-live", daemon=True).start()

    async def watch():  # the browser left: the stream ends at its next event or heartbeat
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.ensure_future(watch())
    try:
        while True:
            item = await answers.get()
            if item is None:
                return await send({"type": "http.response.body", "body": b""})
            if isinstance(item, tuple):
                status, headers = item
                await send({"type": "http.response.start", "status": int(status.split()[0]),
                            "headers": _bytes_headers(headers)})
            elif not gone.is_set():
                await send({"type": "http.response.body", "body": item, "more_body": True})
    finally:
        watcher.cancel()


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


def patch_reloader(reloader_cls, served_static):
    """Publish what the reloader reports: a template change (which Django
    serves at once) reloads pages, and a file staticfiles serves (the
    shim's served_static) too, or swaps their stylesheets."""
    notify = reloader_cls.notify_file_changed

    def notify_file_changed(self, path):
        result = notify(self, path)  # a change that needs a restart never returns
        publish(RELOAD_EVENT, "template")
        return result

    reloader_cls.notify_file_changed = notify_file_changed
    watched = getattr(reloader_cls, "_watched", None)
    if watched is None:
        return

    def _watched(self, paths):
        _static_changed(served_static(paths))
        return watched(self, paths)

    reloader_cls._watched = _watched


def _static_changed(served):
    real = [os.path.realpath(p) for p in served]
    css = [os.path.basename(r) for r in real if r.endswith(".css")]
    if len(css) < len(real):
        publish(RELOAD_EVENT, "static")
    elif css:
        publish(CSS_EVENT, " ".join(css))
