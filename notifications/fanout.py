"""One channel-layer subscription per page group and ASGI process, shared by its clients.

Channels gives every consumer its own channel (a Redis SUBSCRIBE each) and hands a group
message to each through a queue, a deserialization and a dispatch: 75 µs of server CPU per
client measured here, 0.5 s for 2,000 clients. Status pages only ever get the same text per
group, so each process subscribes once per group and writes that text to its clients in one
loop, in the order the messages came (bench/websocket_fanout.py). The loop never awaits a
client: each consumer's `deliver` writes at once while the client's socket takes it and
otherwise keeps the text in that connection's bounded backlog (consumers.py), so one stalled
reader cannot hold up the others.

The audience also holds the page's current live state in this process (the latest version it
knows, and that state's message text): a client's hello is answered from it, so connecting
costs no database query (a reconnect storm after a restart: one query set per group and
process, however many clients come back), and a client behind gets the state in the same
socket instead of fetching `live.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from . import live

logger = logging.getLogger(__name__)

# How old the audience's state may get without a push before the next hello reads it again
# (pushes keep it current; this only bounds how long a push lost with Redis goes unnoticed).
STATE_REFRESH_SECONDS = 30.0


class PageGone(Exception):
    """The page is not (any more) under this slug: the consumer looks the slug up again."""


class Audience:
    """The websocket clients of one group in this process, and the subscription feeding them.

    `members` maps a consumer to the page version its hello announced once it is live, or to
    the list of (version, text) held for it while it is still being greeted. Versions make the
    stream exact: a client gets only versions after its hello, each once, in increasing order
    (a push that lost a race to a later version is dropped: the later state includes it).
    `current` is (version, message text) of the newest state seen: the loaded one, or the
    latest push (each push carries the whole live state).
    """

    def __init__(self, group: str, page_id: int, slug: str, language: str):
        self.group = group
        self.page_id, self.slug, self.language = page_id, slug, language
        self.layer = get_channel_layer()
        self.members: dict = {}
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.current: tuple[int, str] | None = None
        self.checked_at = 0.0
        self.loading: asyncio.Future | None = None
        self.subscribed = asyncio.ensure_future(self._subscribe())

    async def _subscribe(self) -> None:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.listener = asyncio.ensure_future(self._listen())

    async def ready(self, slug: str) -> tuple[int, str]:
        """Once subscribed, the page's current (version, state text) for a client that asked
        for it under `slug`. The state is read (one query set, shared by every client that
        waits meanwhile) after the subscription: whatever is committed later arrives as a push.
        Raises PageGone when the slug does not name this page."""
        await self.subscribed
        stale = time.monotonic() - self.checked_at > STATE_REFRESH_SECONDS
        if self.current is None or slug != self.slug or stale:
            if self.loading is None or self.loading.done():
                self.loading = asyncio.ensure_future(self._load(slug))
            try:
                await asyncio.shield(self.loading)
            except PageGone:
                raise
            except Exception:
                if self.current is None:
                    raise
                logger.exception(
                    "Reading the live state of %s failed; serving the last", self.group
                )
        if slug != self.slug or self.current is None:
            raise PageGone(slug)
        return self.current

    async def _load(self, slug: str) -> None:
        found = await database_sync_to_async(live.current_state)(self.page_id, slug, self.language)
        self.checked_at = time.monotonic()
        if found is None:
            raise PageGone(slug)
        self.slug = slug
        self.advance(*found)

    def advance(self, version: int, text: str) -> bool:
        """Take a state if it is newer than the one held (True)."""
        if self.current is not None and version <= self.current[0]:
            return False
        self.current = (version, text)
        return True

    async def _listen(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer lost Redis: it reconnects; clients catch up later
                logger.exception("Receiving live messages for %s failed", self.group)
                await asyncio.sleep(1)
                continue
            text, version = message.get("text"), message.get("version", 0)
            if text is None or not self.advance(version, text):
                continue
            self.checked_at = time.monotonic()
            # No cyclic garbage collection in the middle of a burst of writes: at 10,000
            # clients one lands mid-loop and delays everyone after it (p99 0.43 -> 0.30 s).
            collecting = gc.isenabled()
            gc.disable()
            try:
                self._deliver(version, text)
            finally:
                if collecting:
                    gc.enable()

    def _deliver(self, version: int, text: str) -> None:
        for consumer in list(self.members):
            state = self.members.get(consumer)
            if isinstance(state, list):
                state.append((version, text))
            elif state is not None and version > state:
                consumer.deliver(text)

    async def stop(self) -> None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self.subscribed
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.listener
        if self.loading is not None and not self.loading.done():
            self.loading.cancel()
        if self.channel is not None:
            with contextlib.suppress(Exception):
                await self.layer.group_discard(self.group, self.channel)


# One audience per (event loop, group): an ASGI server has one loop per process; tests run
# one loop per test.
_audiences: dict[tuple[asyncio.AbstractEventLoop, str], Audience] = {}


async def join(group: str, consumer, *, page_id: int, slug: str, language: str) -> tuple[int, str]:
    """Add a consumer to its group's audience, holding its messages until `go_live`, and
    return the page's current (version, state text) for its hello.

    Returns once the process is subscribed to the group: anything published from then on
    reaches the consumer. Raises PageGone when the slug does not name the page (the consumer
    is not a member then), or whatever the channel layer or database raised.
    """
    key = (asyncio.get_running_loop(), group)
    audience = _audiences.get(key)
    if audience is None:
        audience = _audiences[key] = Audience(group, page_id, slug, language)
    audience.members[consumer] = []
    try:
        return await audience.ready(slug)
    except BaseException:
        await leave(group, consumer)
        raise


async def go_live(group: str, consumer, version: int) -> None:
    """Send the consumer what arrived after `version` (its hello) while it was being greeted,
    then deliver to it directly."""
    audience = _audiences.get((asyncio.get_running_loop(), group))
    if audience is None or consumer not in audience.members:
        return
    held = audience.members[consumer]
    while held:
        held_version, text = held.pop(0)
        if held_version > version:
            consumer.deliver(text)
    audience.members[consumer] = version


async def leave(group: str, consumer) -> None:
    key = (asyncio.get_running_loop(), group)
    audience = _audiences.get(key)
    if audience is None or consumer not in audience.members:
        return
    del audience.members[consumer]
    if not audience.members:
        del _audiences[key]
        await audience.stop()
