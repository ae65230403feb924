"""A directory mirror is atomic for readers: while 50 changes publish (through the real
trigger: domain event -> debounced in-process publisher), readers never see a page of one
version next to JSON of another, nor a missing or half-written file; a publish killed with
SIGKILL leaves the previous complete copy, and the next publish clears what it left."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from incidents import services
from incidents.models import Component, Page
from statuspage.mirror.publish import _debouncer, publish_mirror

from .fault_helpers import database_url
from .mirror_helpers import heartbeat, release

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
VERSION = re.compile(rb'data-version="(\d+)"')


def read_one_copy(root: Path) -> dict:
    """What one reader sees of one copy: the release `current` named when it looked."""
    tree = release(root)
    html = (tree / "p/it/index.html").read_bytes()
    live = json.loads((tree / "p/it/live.json").read_bytes())
    components = json.loads((tree / "p/it/api/v2/components.json").read_bytes())
    return {
        "tree": tree.name,
        "html": int(VERSION.search(html).group(1)),
        "live": live["version"],
        "heartbeat": heartbeat(tree)["versions"]["it"],
        "complete": html.rstrip().endswith(b"</html>") and bool(components["components"]),
    }


def test_readers_never_see_a_mix_of_versions_while_50_changes_publish(settings, tmp_path, it_page):
    root = tmp_path / "mirror"
    settings.MIRROR_TARGETS = [f"file://{root}"]
    settings.MIRROR_DEBOUNCE_SECONDS = 0.05
    publish_mirror()
    stop = threading.Event()
    seen: list[dict] = []
    errors: list[str] = []

    def reader():
        while not stop.is_set():
            try:
                copy = read_one_copy(root)
            except FileNotFoundError as error:
                # Only a copy pruned mid-read (three publishes later) may vanish; `current`
                # itself always names a complete one.
                if not (root / "current" / "p/it/index.html").is_file():
                    errors.append(f"current is incomplete: {error}")
                continue
            except (ValueError, AttributeError) as error:
                errors.append(f"half-written file: {error!r}")
                continue
            seen.append(copy)
            if not (copy["html"] == copy["live"] == copy["heartbeat"] and copy["complete"]):
                errors.append(f"mixed copy: {copy}")

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    vpn = Component.objects.get(page=it_page, name="VPN")
    statuses = ["degraded_performance", "partial_outage", "major_outage", "operational"]
    try:
        for n in range(50):
            services.set_component_status(vpn, statuses[n % 4], actor=None)
            if n % 5 == 4:  # bursts of five changes, each burst published once
                assert _debouncer.wait_idle(180)
    finally:
        stop.set()
        for thread in readers:
            thread.join(30)
    assert errors == []
    it_page.refresh_from_db()
    final = read_one_copy(root)
    assert final["html"] == final["heartbeat"] == it_page.version
    copies = {copy["tree"] for copy in seen}
    assert len(copies) >= 5, "the readers should have seen several publishes"
    assert len(seen) > 100


def test_a_publish_killed_mid_way_leaves_the_previous_complete_copy(settings, tmp_path, it_page):
    root = tmp_path / "mirror"
    settings.MIRROR_TARGETS = [f"file://{root}"]
    publish_mirror()
    before = read_one_copy(root)
    tree = release(root)
    before_files = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    settings.MIRROR_TARGETS = []  # this change is published by the process killed below
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.set_component_status(vpn, "major_outage", actor=None)
    settings.MIRROR_TARGETS = [f"file://{root}"]

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MIRROR_TARGETS": f"file://{root}",
        "SECRET_KEY": "test-secret-key-0123456789abcdefghijklmnop",
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "publish_mirror"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    releases = root / "releases"
    deadline = time.monotonic() + 120
    partial = []
    while time.monotonic() < deadline and process.poll() is None:
        partial = [p for p in releases.iterdir() if p.suffix == ".partial"]
        if partial:  # it has started writing the new copy: kill it there
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    process.wait(30)
    assert partial and process.returncode == -signal.SIGKILL, "not killed mid-publish"

    # Readers still get the previous copy, whole.
    assert read_one_copy(root) == before
    assert release(root) == tree
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == before_files
    # The next publish completes and removes what the killed one left.
    publish_mirror()
    it_page.refresh_from_db()
    assert read_one_copy(root)["heartbeat"] == Page.objects.get(pk=it_page.pk).version
    assert not [p for p in releases.iterdir() if p.suffix == ".partial"]
