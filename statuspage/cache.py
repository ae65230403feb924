"""Django's Redis cache, where Redis being down or hanging is a miss, never an error.

Every call goes through the cache circuit breaker (`statuspage.resilience`): with short socket
timeouts (settings) the first failure costs at most one timeout, and for the next few seconds
calls skip Redis at once. Nothing the cache holds is the only copy: a miss rebuilds from
PostgreSQL, a lost rate-limit count lets one more attempt through.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from . import resilience


def _guarded(name: str, fallback):
    method = getattr(RedisCacheClient, name)

    def call(self, *args, **kwargs):
        breaker = resilience.cache
        if breaker.opened:
            return fallback(*args, **kwargs)
        try:
            result = method(self, *args, **kwargs)
        except resilience.REDIS_DOWN as exc:
            resilience.failed(breaker, exc)
            return fallback(*args, **kwargs)
        if not breaker.closed:
            resilience.succeeded(breaker)
        return result

    call.__name__ = name
    return call


def _missing_counter(*args, **kwargs):
    raise ValueError("Key not found (the cache is unavailable).")


class ResilientRedisCacheClient(RedisCacheClient):
    add = _guarded("add", lambda *a, **k: False)
    get = _guarded("get", lambda key, default=None: default)
    set = _guarded("set", lambda *a, **k: None)
    touch = _guarded("touch", lambda *a, **k: False)
    delete = _guarded("delete", lambda *a, **k: False)
    get_many = _guarded("get_many", lambda *a, **k: {})
    has_key = _guarded("has_key", lambda *a, **k: False)
    incr = _guarded("incr", _missing_counter)
    set_many = _guarded("set_many", lambda *a, **k: None)
    delete_many = _guarded("delete_many", lambda *a, **k: None)
    clear = _guarded("clear", lambda *a, **k: False)

    def get_client(self, key=None, *, write=False):
        # One redis-py client per connection pool, kept: Django makes a new one per call, and
        # building it (its table of response callbacks) cost more than the GET itself.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def ping(self) -> None:
        """Raise unless Redis answers (readiness; bypasses the breaker)."""
        self.get_client(write=True).ping()


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
