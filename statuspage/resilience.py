"""When our own parts fail: one circuit breaker per part (database, cache, channel layer) and
what counts as "that part is down".

A breaker opens on the first failure and stays open `RECOVERY_SECONDS`: meanwhile callers skip
the part at once (the public page serves its last good copy, the cache answers a miss) instead
of each waiting for a timeout. After that the next call tries the part again.
"""

from __future__ import annotations

import logging

import redis.exceptions
from circuitbreaker import CircuitBreaker, CircuitBreakerError  # type: ignore[import-untyped]
from django.db import DatabaseError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

RECOVERY_SECONDS = 5

# A part that does not answer, or answers "I cannot" for reasons outside this request.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
DATABASE_DOWN = (OperationalError, InterfaceError)


# SQLSTATE of a write on a read-only database (a replica during a failover).
READ_ONLY_SQLSTATE = "25006"


def cannot_write(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot take this write now (down, or read-only)."""
    if isinstance(exc, DATABASE_DOWN):
        return True
    cause = exc.__cause__
    return isinstance(exc, DatabaseError) and getattr(cause, "sqlstate", None) == READ_ONLY_SQLSTATE


class ReadTimeout(Exception):
    """A public read did not finish within its time budget (a part is hanging)."""


PART_DOWN = (*DATABASE_DOWN, *REDIS_DOWN, CircuitBreakerError, ReadTimeout)


def _breaker(name: str, expected: tuple[type[BaseException], ...]) -> CircuitBreaker:
    return CircuitBreaker(
        failure_threshold=1,
        recovery_timeout=RECOVERY_SECONDS,
        expected_exception=expected,
        name=name,
    )


database = _breaker("database", (*DATABASE_DOWN, ReadTimeout))
cache = _breaker("cache", REDIS_DOWN)
channel_layer = _breaker("channel layer", (*REDIS_DOWN, TimeoutError))

BREAKERS = {"database": database, "cache": cache, "channel_layer": channel_layer}


def failed(breaker: CircuitBreaker, exc: BaseException) -> None:
    """Count a failure of the part (opens the breaker when `exc` says the part is down)."""
    if breaker.closed:
        log.warning("%s unavailable: %s", breaker.name, exc)
    breaker.__exit__(type(exc), exc, None)


def succeeded(breaker: CircuitBreaker) -> None:
    if not breaker.closed:
        log.warning("%s is back", breaker.name)
    breaker.reset()


def degraded_parts() -> list[str]:
    """Names of the parts whose breaker is open or probing, as this process saw them."""
    return [name for name, breaker in BREAKERS.items() if not breaker.closed]


def reset_all() -> None:
    """Close every breaker (tests)."""
    for breaker in BREAKERS.values():
        breaker.reset()
