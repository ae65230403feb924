"""The websockets: the public page's `/ws/pages/<slug>/`, anonymous and read-only, and the
customer view's `/ws/my/` (CustomerConsumer, below), which only a signed-in customer joins.

On connect the client gets `{"type": "hello", "version": N}` (the page's current version), then
every event of the page in the order they were sent. A client may send `{"type": "ping"}`
(answered with a pong); anything else, or anything over MAX_CLIENT_MESSAGE bytes, closes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from incidents.models import Page
from statuspage.pages import SUPPORTED

from . import fanout
from .live import page_group

MAX_CLIENT_MESSAGE = 1024
CLOSE_UNKNOWN_PAGE = 4404
# The client fell behind (its send queue overflowed): reconnect, and the hello's version tells
# it what it missed (live.js then fetches live.json).
CLOSE_RESYNC = 4408
CLOSE_POLICY = 1008  # an unexpected message
CLOSE_TOO_BIG = 1009
PING = {"type": "ping"}
PONG = json.dumps({"type": "pong"})

logger = logging.getLogger(__name__)


@database_sync_to_async
def _find_page(slug: str) -> tuple[int, str] | None:
    return Page.objects.filter(slug=slug).values_list("pk", "default_language").first()


# slug -> (expires, (page id, default language)): a reconnect storm after a restart then costs
# one query per client (the version) instead of two. A stale entry is harmless: the version
# query checks the slug still names that page, and the consumer looks again if not.
_known_pages: dict[str, tuple[float, tuple[int, str]]] = {}
KNOWN_PAGE_SECONDS = 60


async def find_page(slug: str, *, fresh: bool = False) -> tuple[int, str] | None:
    known = _known_pages.get(slug)
    if known is not None and known[0] > time.monotonic() and not fresh:
        return known[1]
    found = await _find_page(slug)
    if found is None:
        _known_pages.pop(slug, None)
    else:
        _known_pages[slug] = (time.monotonic() + KNOWN_PAGE_SECONDS, found)
    return found


@database_sync_to_async
def _page_version(page_id: int, slug: str) -> int | None:
    return Page.objects.filter(pk=page_id, slug=slug).values_list("version", flat=True).first()


class PageConsumer(AsyncWebsocketConsumer):
    """One public websocket. Pushes go through a bounded queue drained by the connection's own
    writer task, so the fan-out loop never waits on a client: a client that does not read fills
    only its own queue, and is then closed with CLOSE_RESYNC (the others are unaffected)."""

    # No channel of its own: the process's Audience of the page group delivers to it.
    channel_layer_alias = None
    group: str | None = None
    outbox: asyncio.Queue | None = None
    writer: asyncio.Task | None = None
    fell_behind = False

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["slug"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        requested = (query.get("lang") or [""])[0][:2]
        for fresh in (False, True):
            found = await find_page(slug, fresh=fresh)
            if found is None:
                break
            page_id, default_language = found
            language = requested if requested in SUPPORTED else default_language
            language = language if language in SUPPORTED else SUPPORTED[0]
            self.group = page_group(page_id, language)
            # Subscribe before reading the version: an event committed in between is then
            # both counted in the hello's version or later, and delivered; none is lost.
            await fanout.join(self.group, self)
            version = await _page_version(page_id, slug)
            if version is not None:
                break
            await fanout.leave(self.group, self)  # a stale entry: look the slug up again
            self.group = None
        await self.accept()
        if self.group is None:
            await self.close(code=CLOSE_UNKNOWN_PAGE)
            return
        await self.send(
            text_data=json.dumps(
                {"type": "hello", "version": version, "page": slug, "language": language}
            )
        )
        self.outbox = asyncio.Queue(maxsize=settings.LIVE_SEND_QUEUE_MESSAGES)
        self.writer = asyncio.ensure_future(self._write())
        await fanout.go_live(self.group, self, version)

    async def disconnect(self, code):
        if self.group:
            await fanout.leave(self.group, self)
        if self.writer is not None:
            self.writer.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or len((text_data or "").encode()) > MAX_CLIENT_MESSAGE:
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

    def deliver(self, text: str) -> None:
        """Queue one pushed message (already serialized, the same for the whole group) without
        waiting; a client whose queue is full is dropped with CLOSE_RESYNC."""
        if self.fell_behind or self.outbox is None:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.fell_behind = True
            logger.info("A live client fell %d messages behind: closing it", self.outbox.qsize())
            # Whatever is queued is stale now: the client resyncs from its next hello.
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)  # the writer closes after what it is sending now
            if self.group:
                asyncio.ensure_future(fanout.leave(self.group, self))

    async def _write(self) -> None:
        """The connection's writer: sends queued pushes in order; `None` closes (resync). Only
        this task waits when the client reads slowly."""
        assert self.outbox is not None
        while True:
            text = await self.outbox.get()
            try:
                if text is None:
                    await self.close(code=CLOSE_RESYNC)
                    return
                await self.send(text_data=text)
            except Exception:  # the client went away mid-send: its disconnect cleans up
                logger.debug("Dropped a live message for a closing websocket", exc_info=True)
                return


CLOSE_NOT_SIGNED_IN = 4403


@database_sync_to_async
def _customer_of(user) -> int | None:
    from incidents.services.customer_access import member_for_user

    member = member_for_user(user)
    return member.customer_id if member is not None else None


class CustomerConsumer(AsyncWebsocketConsumer):
    """The customer view's websocket, `/ws/my/`: joins the group of the signed-in customer's
    company (the session says which; without a signed-in customer it closes with 4403 and
    joins nothing). Pushes are short notes; the page fetches its sections itself."""

    group: str | None = None

    async def connect(self):
        from .customer_live import customer_group

        customer_id = await _customer_of(self.scope.get("user"))
        await self.accept()
        if customer_id is None:
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        self.group = customer_group(customer_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send(text_data=json.dumps({"type": "hello"}))

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or len((text_data or "").encode()) > MAX_CLIENT_MESSAGE:
            await self.close(code=CLOSE_POLICY)
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            message = None
        if message == PING:
            await self.send(text_data=PONG)
        else:
            await self.close(code=CLOSE_POLICY)

    async def customer_changed(self, event):
        await self.send(text_data=event["text"])


class NotFoundConsumer(AsyncWebsocketConsumer):
    """A websocket path that names nothing: accepted and closed at once with CLOSE_UNKNOWN_PAGE
    (a handshake refusal would read as a server error to the client)."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_UNKNOWN_PAGE)
