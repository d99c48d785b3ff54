"""The ASGI application Daphne's runserver serves (LIVESITE_RUNSERVER=daphne),
routed as a Channels project routes it: HTTP to Django, and the WebSocket at
/ws to a consumer (consumers.py)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livesite.settings")
# Django first: the consumers' imports may need the apps loaded.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from . import consumers  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_application,
    "websocket": URLRouter([path("ws", consumers.EchoConsumer.as_asgi())]),
})
