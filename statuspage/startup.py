"""What the WSGI and ASGI entry points check before serving: every migration applied.

A server started on a database that lacks migrations answers every page with a 500; refusing
to start says which migrations are missing instead. A database that cannot be reached at start
is not a reason to refuse: the public pages serve their last good copies from disk meanwhile.
"""

from __future__ import annotations

import concurrent.futures
import logging

from django.core.exceptions import ImproperlyConfigured

from . import resilience

log = logging.getLogger(__name__)


def _unapplied() -> list[str] | None:
    from django.db import connection

    from .health import unapplied_migrations

    try:
        return unapplied_migrations()
    except resilience.DATABASE_DOWN as exc:
        log.error("database unreachable at start, migrations not checked: %s", exc)
        return None
    finally:
        connection.close()


def refuse_unapplied_migrations() -> None:
    from django.conf import settings

    if not settings.CHECK_MIGRATIONS_AT_START:
        return
    # In a thread of its own: the ASGI module may be imported inside a running event loop,
    # where Django refuses synchronous database access.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        missing = pool.submit(_unapplied).result()
    if missing:
        raise ImproperlyConfigured(
            "Refusing to start: the database lacks these migrations: "
            f"{', '.join(missing)}. Run `python manage.py migrate` first."
        )
