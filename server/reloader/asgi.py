"""django-runserver's side of Daphne's runserver (Channels projects), which
serves the project's ASGI application on Twisted instead of runserver's WSGI
server. live.py loads this file when manage.py loads Daphne's command, and
gives that command a subclass of Daphne's Server:

* it serves on the backend's kept socket when one is inherited: Twisted
  adopts the descriptor (AdoptedStreamServerEndpoint, which Daphne's
  "fd:fileno=N" endpoint builds), so connections wait in the socket's queue
  through a reload, as under runserver's server;
* once the reactor runs, it warms up what the first request would build,
  and says READY on the backend's channel, with the socket it bound when it
  inherited none (a server's first process);
* the application is wrapped by page.py's ASGI side: the reserved paths,
  and the reload script in whole HTML pages, by the rules runserver's
  pages follow;
* before a reload exits, it stops accepting (the port leaves the reactor;
  the socket stays open and listening for the next process), lets the HTTP
  requests it took finish, and closes open WebSockets with 1001 (going
  away), so that clients reconnect to the next process.

Nothing here imports Daphne's server module, which installs Twisted's
reactor as it loads: Daphne's command has imported it by the time this file
patches it, in the server process only, never in a preloader.
"""
import os
import socket
import threading
import time
import weakref

# WebSocket's close code for a server that goes away (RFC 6455, 7.4.1).
WS_GOING_AWAY = 1001
_DRAIN_TICK_S = 0.01


def patch(command, live, listen_fd, ready_fd):
    """Make command, Daphne's runserver, serve through the server below.
    live is live.py, for what both servers share: the READY word, the warm
    up, the drain's deadlines."""
    import daphne.server as daphne_server
    from twisted.internet import reactor

    channels = weakref.WeakSet()  # the HTTP connections accepted
    inherited = "fd:fileno=%d" % listen_fd if listen_fd is not None else None

    server_from_string = daphne_server.serverFromString

    def endpoint(reactor_, description):
        # Twisted's own "fd:" parser takes the address family as a number,
        # which a string can't give for IPv6; the family is the socket's.
        if description != inherited:
            return server_from_string(reactor_, description)
        from twisted.internet.endpoints import AdoptedStreamServerEndpoint
        fd = os.dup(listen_fd)  # the endpoint closes what it adopts
        return AdoptedStreamServerEndpoint(reactor_, fd, _family(fd))

    daphne_server.serverFromString = endpoint

    class Factory(daphne_server.HTTPFactory):
        def buildProtocol(self, addr):
            protocol = super().buildProtocol(addr)
            _track(channels, protocol)
            return protocol

    daphne_server.HTTPFactory = Factory
    base = command.server_cls
    log_action = command.log_action

    def quiet_log_action(protocol, action, details):
        if live.page.reserved(details.get("path", "")):
            return  # the browser's own requests to us: not the user's
        log_action(protocol, action, details)

    command.log_action = quiet_log_action

    class Server(base):
        def __init__(self, application, endpoints=None, **kwargs):
            if inherited is not None:
                endpoints = [inherited]
            self._ports = []
            application = live.page.wrap_asgi(application, live.inject)
            super().__init__(application, endpoints=endpoints, **kwargs)

        def listen_success(self, port):
            self._ports.append(port)
            super().listen_success(port)

        def run(self):
            reactor.callWhenRunning(self._serving)
            super().run()

        def _serving(self):
            live.warm_up()
            live.on_drain(self._drain)
            if ready_fd is not None and self._ports:
                live.say_ready(ready_fd, None if inherited is not None else self._ports[0].socket)

        def _drain(self):
            """From the reloader's thread: stop accepting, and return once
            what this process took is done, or at the drain's deadline."""
            done = threading.Event()
            reactor.callFromThread(self._start_drain, done)
            done.wait(live.DRAIN_S + 1)

        def _start_drain(self, done):
            for port in self._ports:
                port.stopReading()  # not stopListening: it would shut the kept socket down
            live.end_streams()
            for protocol, details in list(self.connections.items()):
                if "disconnected" not in details and hasattr(protocol, "sendCloseFrame"):
                    _going_away(protocol)
            deadline = time.monotonic() + live.DRAIN_S
            first = time.monotonic() + live.FIRST_REQUEST_S

            def check():
                now = time.monotonic()
                try:
                    busy = now < deadline and self._busy(channels, now < first)
                except Exception:  # noqa: BLE001 - a Daphne or Twisted this doesn't know: don't hold the reload
                    busy = False
                if busy:
                    reactor.callLater(_DRAIN_TICK_S, check)
                else:
                    done.set()

            check()

        def _busy(self, channels, wait_fresh):
            """Whether a request taken is not answered yet, a WebSocket not
            closed yet, or (while wait_fresh) a connection accepted has not
            sent its first request yet."""
            if any("disconnected" not in details for details in self.connections.values()):
                return True
            return any(_channel_busy(p, wait_fresh) for p in list(channels))

    command.server_cls = Server


def _family(fd):
    with socket.socket(fileno=os.dup(fd)) as sock:
        return sock.family


def _track(channels, protocol):
    """Keep protocol among the accepted connections, and mark it once it
    receives its first bytes."""
    channels.add(protocol)
    protocol.django_runserver_seen = False
    received = protocol.dataReceived

    def data_received(data):
        protocol.django_runserver_seen = True
        return received(data)

    protocol.dataReceived = data_received


def _channel_busy(protocol, wait_fresh):
    # protocol is Twisted's HTTP/1.1-or-HTTP/2 negotiator; the transport and
    # the requests are its channel's.
    channel = getattr(protocol, "_channel", protocol)
    transport = getattr(channel, "transport", None)
    if transport is None or not getattr(transport, "connected", False):
        return False
    if _unsent(transport):
        return True  # Twisted writes when the socket is writable: a finished response may not be sent yet
    if getattr(transport, "protocol", protocol) is not protocol:
        return False  # upgraded to a WebSocket: Daphne's connections say
    if not protocol.django_runserver_seen:
        return wait_fresh
    return bool(getattr(channel, "requests", None) or getattr(channel, "_buffer", b"")
                or getattr(channel, "_dataBuffer", None))


def _unsent(transport):
    """Whether transport holds bytes not yet written to its socket, or is
    closing once it has written them (a response with Connection: close)."""
    if getattr(transport, "disconnecting", False):
        return True
    if getattr(transport, "_tempDataLen", 0):
        return True
    return len(getattr(transport, "dataBuffer", b"")) > getattr(transport, "offset", 0)


def _going_away(protocol):
    """Close a WebSocket with 1001: autobahn's sendClose accepts only 1000
    and 3000-4999 from an application, so the frame is sent as the server's."""
    try:
        if protocol.state == protocol.STATE_OPEN:
            protocol.sendCloseFrame(code=WS_GOING_AWAY, isReply=False)
        elif protocol.state != protocol.STATE_CLOSED:
            protocol.dropConnection(abort=True)
    except Exception:  # noqa: BLE001 - a connection already going: the drain's wait sees it gone
        pass
