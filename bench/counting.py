"""The Celery app for benchmark workers: the real one, plus a count of the SQL it runs.

Each task's queries (through Django) are added to a Redis counter the benchmark reads.
"""

from __future__ import annotations

import os

from celery.signals import task_postrun, worker_init

from statuspage.celery import app  # noqa: F401  (what `celery -A bench.counting` runs)

_count = [0]


def _counter(execute, sql, params, many, context):
    _count[0] += 1
    return execute(sql, params, many, context)


@worker_init.connect
def _install(**kwargs):
    from django.db import connection

    connection.execute_wrappers.append(_counter)


@task_postrun.connect
def _report(**kwargs):
    import redis

    if _count[0]:
        client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
        client.incrby("bench:email:queries", _count[0])
        _count[0] = 0
