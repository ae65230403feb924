"""A webhook consumer on localhost (aiohttp in a thread) that records every request and checks
its Standard Webhooks signature with its own HMAC (not our signing code), with faults on demand."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field

from aiohttp import web


def verify(secret: str, headers, body: bytes) -> bool:
    """The Standard Webhooks check, written from the spec: HMAC-SHA256 over id.timestamp.body
    with the base64 key after `whsec_`; any of the space-separated v1 signatures may match."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        sig.split(",", 1)[1] == expected
        for sig in headers["webhook-signature"].split()
        if sig.startswith("v1,")
    )


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    status: int

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Consumer:
    """Paths: /ok, /flaky (500 once, then 200), /slow (answers after 3 s), /gone (410),
    /fail (500), /redirect?to=URL (307), /hooks/<token> (Mattermost-style)."""

    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    port: int = 0

    def start(self) -> Consumer:
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def handle(request: web.Request):
            body = await request.read()
            path = request.path
            status = 200
            if path == "/flaky" and not any(r.path == "/flaky" for r in self.received):
                status = 500
            elif path == "/slow":
                await asyncio.sleep(3)
            elif path == "/gone":
                status = 410
            elif path == "/fail":
                status = 500
            elif path == "/redirect":
                self.received.append(Received(path, dict(request.headers), body, 307))
                raise web.HTTPTemporaryRedirect(request.query["to"])
            self.received.append(Received(path, dict(request.headers), body, status))
            return web.Response(status=status, text="ok")

        async def serve():
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handle)
            self.runner = web.AppRunner(app, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, self.host, 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(serve())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def stop(self) -> None:
        async def shutdown():
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
