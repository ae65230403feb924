"""The public page's websocket: `/ws/pages/<slug>/`, anonymous and read-only.

On connect the client gets `{"type": "hello", "version": N}` (the page's current version), then
every event of the page in the order they were sent. A client may send `{"type": "ping"}`
(answered with a pong); anything else, or anything over MAX_CLIENT_MESSAGE bytes, closes it.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from incidents.models import Page
from statuspage.pages import SUPPORTED

from .live import page_group

MAX_CLIENT_MESSAGE = 1024
CLOSE_UNKNOWN_PAGE = 4404
CLOSE_POLICY = 1008  # an unexpected message
CLOSE_TOO_BIG = 1009
PING = {"type": "ping"}
PONG = json.dumps({"type": "pong"})


@database_sync_to_async
def _find_page(slug: str) -> tuple[int, str] | None:
    return Page.objects.filter(slug=slug).values_list("pk", "default_language").first()


@database_sync_to_async
def _page_version(page_id: int) -> int | None:
    return Page.objects.filter(pk=page_id).values_list("version", flat=True).first()


class PageConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["slug"]
        found = await _find_page(slug)
        if found is None:
            await self.accept()
            await self.close(code=CLOSE_UNKNOWN_PAGE)
            return
        page_id, default_language = found
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        language = (query.get("lang") or [""])[0][:2]
        if language not in SUPPORTED:
            language = default_language if default_language in SUPPORTED else SUPPORTED[0]
        # Join before reading the version: an event committed in between is then both counted
        # in the hello's version or later, and delivered; none falls in the gap.
        self.group = page_group(page_id, language)
        await self.channel_layer.group_add(self.group, self.channel_name)
        version = await _page_version(page_id)
        await self.accept()
        await self.send(
            text_data=json.dumps(
                {"type": "hello", "version": version, "page": slug, "language": language}
            )
        )

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or len(text_data or "") > MAX_CLIENT_MESSAGE:
            await self.close(code=CLOSE_TOO_BIG if bytes_data is None else CLOSE_POLICY)
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            message = None
        if message == PING:
            await self.send(text_data=PONG)
        else:
            await self.close(code=CLOSE_POLICY)

    async def live_message(self, event):
        """A page event from the channel layer: forward its pre-serialized text."""
        await self.send(text_data=event["text"])
