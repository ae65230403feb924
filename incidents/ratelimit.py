"""Counting attempts in the cache: the one rate limit of the public forms (reports, subscribe)."""

from __future__ import annotations

from django.core.cache import cache


def take_attempt(key: str, limit: int, window: int) -> bool:
    """Count one attempt under `key`; False once more than `limit` fell within `window` seconds."""
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        count = 1
    return count <= limit
