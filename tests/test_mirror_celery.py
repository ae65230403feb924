"""The mirror in production layout: a change's event queues one Celery task per page (a
burst gives one publish), a real worker on Redis publishes it."""

from __future__ import annotations

import os

import pytest

from incidents import services
from incidents.models import Component

from .mirror_helpers import heartbeat, release
from .test_email_delivery import REDIS_URL, Workers, broker, wait_for  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_pool(broker, tmp_path):  # noqa: F811 - broker is the imported fixture
    import subprocess
    import sys
    from pathlib import Path

    # The worker renders pages with production's static storage, which reads the manifest
    # collectstatic writes (as a deployment runs it before starting workers); into this test's
    # own folder, so the checkout's var/static is never left older than the sources.
    static_root = str(tmp_path / "static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "STATIC_ROOT": static_root},
        check=True,
        timeout=300,
    )
    pool = Workers(tmp_path)
    pool.static_root = static_root
    yield pool
    pool.stop_all()


def test_a_burst_of_changes_is_published_once_by_a_celery_worker(
    it_page, worker_pool, settings, tmp_path
):
    workers = worker_pool
    root = tmp_path / "mirror"
    target = f"file://{root}"
    # The queued-task key lives in the shared cache, as in production.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    settings.MIRROR_TARGETS = [target]
    settings.MIRROR_DEBOUNCE_SECONDS = 2
    workers.start(
        1,
        MIRROR_TARGETS=target,
        MIRROR_DEBOUNCE_SECONDS="2",
        REDIS_URL=REDIS_URL,
        STATIC_ROOT=workers.static_root,
    )
    vpn = Component.objects.get(page=it_page, name="VPN")
    try:
        for status in ["degraded_performance", "partial_outage", "major_outage"]:
            services.set_component_status(vpn, status, actor=None)
        it_page.refresh_from_db()
        wait_for(
            lambda: (
                (root / "current/mirror.json").exists()
                and heartbeat(release(root))["versions"]["it"] == it_page.version
            ),
            timeout=120,
            what=workers.logs,
        )
        assert len(list((root / "releases").iterdir())) == 1  # three changes, one publish
        components = (release(root) / "p/it/api/v2/components.json").read_text()
        assert '"major_outage"' in components
    finally:
        from django.core.cache import cache

        cache.clear()
