"""The websockets: the public page's `/ws/pages/<slug>/`, anonymous and read-only, and the
customer view's `/ws/my/` (CustomerConsumer, below), which only a signed-in customer joins.

On connect the client gets `{"type": "hello", "version": N}` (the page's current version, from
the process's live state: no database query), then every event of the page in the order they
were sent. A client that says which version it shows (`?v=<version>`) and is behind gets
`"state": true` in its hello and the page's live state right after it (live.json's content), so a
reconnect storm costs no HTTP requests either. A client may send `{"type": "ping"}`
(answered with a pong); anything else, or anything over MAX_CLIENT_MESSAGE bytes, closes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Coroutine
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from incidents.models import Page
from statuspage.pages import SUPPORTED

from . import fanout
from .live import page_group

MAX_CLIENT_MESSAGE = 1024
CLOSE_UNKNOWN_PAGE = 4404
# The client fell behind (its backlog overflowed): reconnect, and the hello (with the state, or
# its version for live.js to fetch live.json) brings it up to date.
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
# one query per slug and process, not one per client (concurrent look-ups of one slug share
# it). A stale entry is harmless: the audience checks the slug still names that page, and the
# consumer looks again if not.
_known_pages: dict[str, tuple[float, tuple[int, str]]] = {}
_finding: dict[str, asyncio.Future] = {}
KNOWN_PAGE_SECONDS = 60


async def find_page(slug: str, *, fresh: bool = False) -> tuple[int, str] | None:
    known = _known_pages.get(slug)
    if known is not None and known[0] > time.monotonic() and not fresh:
        return known[1]
    finding = _finding.get(slug)
    if finding is None or finding.get_loop() is not asyncio.get_running_loop():
        finding = _finding[slug] = asyncio.ensure_future(_find_page(slug))
        finding.add_done_callback(
            lambda done: _finding.pop(slug, None) if _finding.get(slug) is done else None
        )
    found = await asyncio.shield(finding)
    if found is None:
        _known_pages.pop(slug, None)
    else:
        _known_pages[slug] = (time.monotonic() + KNOWN_PAGE_SECONDS, found)
    return found


def _client_version(query: dict[str, list[str]]) -> int | None:
    """The version the client already shows (`?v=`), when it says one."""
    value = (query.get("v") or [""])[0]
    return int(value) if value.isdigit() and len(value) <= 18 else None


async def answer_client(consumer: AsyncWebsocketConsumer, text_data, bytes_data) -> None:
    """What a client may send: a keep-alive ping (answered), nothing else (the socket is
    closed: bytes or an unknown message 1008, an oversized text 1009)."""
    if bytes_data is not None or len((text_data or "").encode()) > MAX_CLIENT_MESSAGE:
        await consumer.close(code=CLOSE_TOO_BIG if bytes_data is None else CLOSE_POLICY)
        return
    try:
        message = json.loads(text_data)
    except ValueError:
        message = None
    if message == PING:
        await consumer.send(text_data=PONG)
    else:
        await consumer.close(code=CLOSE_POLICY)


class PageConsumer(AsyncWebsocketConsumer):
    """One public websocket. A push is written to the client at once while its socket takes
    it (the common case: no task switch, no queue); while a write waits for the client to read
    (the transport's buffer is full), later pushes wait in a bounded backlog, so the fan-out
    loop never waits on a client: a client that does not read fills only its own backlog, and
    is then closed with CLOSE_RESYNC (the others are unaffected)."""

    # No channel of its own: the process's Audience of the page group delivers to it.
    channel_layer_alias = None
    group: str | None = None
    live = False
    fell_behind = False
    sending = False  # a write is waiting for the client's socket to drain
    backlog: deque[str | None]

    async def dispatch(self, message):
        """Channels' dispatch, without its `close_old_connections` in the sync thread before
        every handler: a thread hop per connect and client message (most of a connect's cost
        in a reconnect storm). The handlers touch the database only through
        `database_sync_to_async`, which does that in its own thread."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

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
            try:
                # Subscribed before the state is read: an event committed in between is then
                # both counted in the hello's version or later, and delivered; none is lost.
                version, state = await fanout.join(
                    self.group, self, page_id=page_id, slug=slug, language=language
                )
                break
            except fanout.PageGone:  # a stale entry: look the slug up again
                self.group = None
        await self.accept()
        if self.group is None:
            await self.close(code=CLOSE_UNKNOWN_PAGE)
            return
        shown = _client_version(query)
        catch_up = shown is not None and shown < version
        hello = {"type": "hello", "version": version, "page": slug, "language": language}
        if catch_up:
            hello["state"] = True  # the state follows: no need to fetch live.json
        await self.send(text_data=json.dumps(hello))
        if catch_up:
            await self.send(text_data=state)
        self.backlog = deque()
        self.live = True
        await fanout.go_live(self.group, self, version)

    async def disconnect(self, code):
        self.live = False
        if self.group:
            await fanout.leave(self.group, self)

    async def receive(self, text_data=None, bytes_data=None):
        await answer_client(self, text_data, bytes_data)

    def deliver(self, text: str) -> None:
        """Send one pushed message (already serialized, the same for the whole group) without
        waiting; a client whose backlog is full is dropped with CLOSE_RESYNC."""
        if self.fell_behind or not self.live:
            return
        if not self.sending:
            self._write(text)
            return
        if len(self.backlog) < settings.LIVE_SEND_QUEUE_MESSAGES:
            self.backlog.append(text)
            return
        self.fell_behind = True
        logger.info("A live client fell %d messages behind: closing it", len(self.backlog))
        # Whatever is waiting is stale now: the client resyncs from its next hello.
        self.backlog.clear()
        self.backlog.append(None)  # closes once the write in progress is done
        if self.group:
            asyncio.ensure_future(fanout.leave(self.group, self))

    def _write(self, text: str | None) -> None:
        """Start one ASGI send (`None`: the resync close) and run it as far as it goes now.

        An ASGI server's send only suspends while the client's socket is not writable, so it
        almost always completes in this call: no task and no queue per client and message
        (half of the fan-out's CPU, bench/websocket_fanout.py). When it suspends, it resumes
        from the awaited future's callback, as a task would; the backlog waits behind it."""
        if text is None:
            message = {"type": "websocket.close", "code": CLOSE_RESYNC}
        else:
            message = {"type": "websocket.send", "text": text}
        self._step(self.base_send(message))

    def _step(self, send: Coroutine) -> None:
        while True:
            try:
                awaited = send.send(None)
            except StopIteration:
                self.sending = False
            except Exception:  # the client went away mid-send: its disconnect cleans up
                logger.debug("Dropped a live message for a closing websocket", exc_info=True)
                self.sending = False
                self.backlog.clear()
                return
            else:
                self.sending = True
                if awaited is None:  # a bare yield: go on at the next turn of the loop
                    asyncio.get_running_loop().call_soon(self._step, send)
                else:  # an asyncio future (the transport's "writable" event)
                    awaited._asyncio_future_blocking = False
                    awaited.add_done_callback(lambda _done, send=send: self._step(send))
                return
            if not self.backlog:
                return
            text = self.backlog.popleft()
            if text is None:
                send = self.base_send({"type": "websocket.close", "code": CLOSE_RESYNC})
            else:
                send = self.base_send({"type": "websocket.send", "text": text})


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
        await answer_client(self, text_data, bytes_data)

    async def customer_changed(self, event):
        await self.send(text_data=event["text"])


class NotFoundConsumer(AsyncWebsocketConsumer):
    """A websocket path that names nothing: accepted and closed at once with CLOSE_UNKNOWN_PAGE
    (a handshake refusal would read as a server error to the client)."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_UNKNOWN_PAGE)
