"""/healthz and /readyz, the refusal to start with unapplied migrations, and an API that works
on a read-only database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from .api_helpers import make_api

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_says_the_process_is_up_without_touching_any_part(
    db, client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_readyz_names_every_part_with_its_state_and_latency(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    parts = response.json()["parts"]
    assert set(parts) == {"database", "cache", "channel_layer", "broker", "migrations"}
    assert parts["database"]["state"] == "ok"
    assert parts["migrations"]["state"] == "ok" and parts["migrations"]["unapplied"] == []
    # Embedded mode (no Redis, no broker): those parts are in-process.
    assert {parts[p]["state"] for p in ("cache", "channel_layer", "broker")} == {"embedded"}
    assert all(isinstance(part["latency_ms"], float | int) for part in parts.values())


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_and_says_which_part_when_redis_cannot_be_reached(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0"}]},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["parts"]["channel_layer"]["state"] == "down"
    assert body["parts"]["channel_layer"]["error"]
    assert body["parts"]["database"]["state"] == "ok"


def test_the_server_refuses_to_start_on_a_database_without_its_migrations(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DEBUG": "1",
        "SECRET_KEY": "test-secret-key-0123456789abcdefghijklmnop",
    }
    for module in ("statuspage.wsgi", "statuspage.asgi"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode != 0
        assert "Refusing to start: the database lacks these migrations" in result.stderr
        assert "incidents.0001_initial" in result.stderr
        assert "notifications.0001_initial" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_reads_on_a_read_only_database(it_page):
    if connection.vendor != "postgresql":
        pytest.skip("read-only sessions are PostgreSQL's (CI runs this on PostgreSQL)")
    api, key = make_api(pages=[it_page])
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    try:
        response = api.get("pages/it/incidents")
        assert response.status_code == 200, response.content
        # A write on that database is a JSON 503, not an HTML 500.
        response = api.post("pages/it/incidents", {"incident": {"name": "Slow VPN"}})
        assert response.status_code == 503, response.content
        assert response.json()["code"] == "database_unavailable"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")
    key.refresh_from_db()
    assert key.last_used_at is None  # nothing could be written, and nothing failed for it
