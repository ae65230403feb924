"""What the WSGI and ASGI entry points check before serving: every migration applied.

A server started on a database that lacks migrations answers every page with a 500; refusing
to start says which migrations are missing instead. A database that cannot be reached at start
is not a reason to refuse: the public pages serve their last good copies from disk meanwhile.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured

from . import resilience

log = logging.getLogger(__name__)


def refuse_unapplied_migrations() -> None:
    from django.db import connection

    from .health import unapplied_migrations

    try:
        missing = unapplied_migrations()
    except resilience.DATABASE_DOWN as exc:
        log.error("database unreachable at start, migrations not checked: %s", exc)
        return
    finally:
        connection.close()
    if missing:
        raise ImproperlyConfigured(
            "Refusing to start: the database lacks these migrations: "
            f"{', '.join(missing)}. Run `python manage.py migrate` first."
        )
