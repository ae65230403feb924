"""Health and readiness for load balancers and monitoring, and the admin's "degraded" banner.

`/healthz` says the process is up (no part is touched). `/readyz` checks each part (database,
cache, channel layer, broker, migrations applied) in parallel, each within `CHECK_SECONDS`,
and answers JSON with each part's state and latency: 200 when all can serve, else 503.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from . import resilience

CHECK_SECONDS = 1.0
# The admin banner reuses a readiness result for this long (admin pages never wait on it).
BANNER_SECONDS = 3.0

LABELS = {
    "database": _("database"),
    "cache": _("cache (Redis)"),
    "channel_layer": _("live updates (Redis)"),
    "broker": _("task queue (broker)"),
    "migrations": _("database migrations"),
}


def unapplied_migrations() -> list[str]:
    """`app.name` of every migration on disk that the database has not applied."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def _in_thread(check):
    """Run a check in its own thread with its own database connection, closed afterwards."""

    def run():
        try:
            return check()
        finally:
            connection.close()

    return run


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"state": "ok"}


def check_migrations() -> dict[str, Any]:
    missing = unapplied_migrations()
    return {"state": "down" if missing else "ok", "unapplied": missing}


def check_cache() -> dict[str, Any]:
    from django.core.cache import caches

    from .cache import ResilientRedisCache

    cache = caches["default"]
    if not isinstance(cache, ResilientRedisCache):
        return {"state": "embedded"}
    cache._cache.ping()  # type: ignore[attr-defined]
    return {"state": "ok"}


def check_channel_layer() -> dict[str, Any]:
    import redis

    layer: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    if "Redis" not in layer.get("BACKEND", ""):
        return {"state": "embedded"}
    host = layer["CONFIG"]["hosts"][0]
    address = host["address"] if isinstance(host, dict) else host
    client = redis.Redis.from_url(
        address, socket_connect_timeout=CHECK_SECONDS, socket_timeout=CHECK_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    return {"state": "ok"}


def check_broker() -> dict[str, Any]:
    from statuspage.celery import app

    if app.conf.task_always_eager:
        return {"state": "embedded"}
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_SECONDS)
    return {"state": "ok"}


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
    "migrations": check_migrations,
}

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="readiness")


def readiness() -> dict[str, dict[str, Any]]:
    """Each part's state ("ok", "embedded" or "down", with "error") and latency in ms."""
    started = time.monotonic()
    futures = {name: _pool.submit(_timed(_in_thread(check))) for name, check in CHECKS.items()}
    parts = {}
    for name, future in futures.items():
        remaining = max(0.0, CHECK_SECONDS - (time.monotonic() - started))
        try:
            parts[name] = future.result(timeout=remaining)
        except concurrent.futures.TimeoutError:
            parts[name] = {
                "state": "down",
                "error": f"no answer within {CHECK_SECONDS:g} s",
                "latency_ms": round(CHECK_SECONDS * 1000),
            }
    return parts


def _timed(check):
    def run():
        started = time.monotonic()
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - any failure is the part being down
            result = {"state": "down", "error": str(exc)[:300] or type(exc).__name__}
        result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        return result

    return run


def ready(parts: dict[str, dict[str, Any]]) -> bool:
    return all(part["state"] in ("ok", "embedded") for part in parts.values())


@never_cache
def healthz(request):
    """The process is up and answers (nothing else is checked)."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    parts = readiness()
    ok = ready(parts)
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "parts": parts}, status=200 if ok else 503
    )


_banner: dict[str, Any] = {"at": 0.0, "parts": []}
_banner_lock = threading.Lock()


def degraded_parts(request) -> dict[str, Any]:
    """Context processor: on admin pages, the parts that are down (`degraded_parts`)."""
    if not request.path.startswith("/admin/"):
        return {}
    now = time.monotonic()
    with _banner_lock:
        fresh = now - _banner["at"] < BANNER_SECONDS
        if not fresh:
            _banner["at"] = now  # one refresh at a time; others use the previous result
    if not fresh:
        parts = readiness()
        down = [
            {"name": name, "label": LABELS[name], "error": part.get("error", "")}
            for name, part in parts.items()
            if part["state"] == "down"
        ]
        _banner["parts"] = down
    seen = {part["name"] for part in _banner["parts"]}
    extra = [
        {"name": name, "label": LABELS[name], "error": ""}
        for name in resilience.degraded_parts()
        if name not in seen
    ]
    return {"degraded_parts": _banner["parts"] + extra}
