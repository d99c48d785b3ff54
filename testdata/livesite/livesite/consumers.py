"""The Channels consumer at /ws, under Daphne's runserver: it says which
process answers, then replies to each message with REPLY, which the tests
edit to see a reconnected client reach the new code."""
import os

from channels.generic.websocket import AsyncWebsocketConsumer

REPLY = "echo v1"


class EchoConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send(text_data="pid %d" % os.getpid())

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data="%s: %s" % (REPLY, text_data or ""))
