"""The ASGI application Daphne's runserver serves (LIVESITE_RUNSERVER=daphne):
Django's, and at /ws a WebSocket that says which process answers, then
echoes what it receives."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livesite.settings")
django_application = get_asgi_application()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"] == "/ws":
        return await echo(receive, send)
    return await django_application(scope, receive, send)


async def echo(receive, send):
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": "pid %d" % os.getpid()})
        elif message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text") or ""})
        elif message["type"] == "websocket.disconnect":
            return
