"""Celery task of the mirror: thin, it calls the publisher (beat runs it as the heartbeat)."""

from __future__ import annotations

import contextlib

from celery import shared_task
from django.core.cache import cache

from . import publish as publisher


@shared_task(name="mirror.publish", ignore_result=True)
def publish(
    targets: list[str] | None = None,
    pages: list[str] | None = None,
    queued_key: str | None = None,
) -> int:
    """Publish now. One publish at a time: one that finds another running comes back later."""
    try:
        if queued_key:
            cache.delete(queued_key)  # a change from here on queues the next publish
        running = cache.add(publisher.RUNNING_KEY, 1, timeout=600)
    except Exception:  # noqa: BLE001 - no cache: publish anyway (the directory target locks)
        running = None
    if running is False:
        publish.apply_async(kwargs={"targets": targets, "pages": pages}, countdown=1)
        return 0
    try:
        return len(publisher.publish_mirror(pages=pages, targets=targets))
    finally:
        if running:
            with contextlib.suppress(Exception):  # it expires on its own
                cache.delete(publisher.RUNNING_KEY)
