"""Benchmark: what a cache hit of the page snapshot costs, typed (dataclasses) against dicts.

    .venv/bin/python bench/snapshot_cache.py [--components 30] [--repeat 200]

Builds one page (components in groups, open and resolved incidents with updates, 90 days of
uptime bars) in a throw-away SQLite database, then times what the cache does on set and get:
- the baseline: the snapshot as the nested dicts with string keys it was before the typed
  snapshot (converted here, same content), pickled, as Django's cache backends do;
- the typed snapshot pickled (the obvious way, 2-3x slower to load: one Python-level object
  per bar, 90 bars per component);
- the typed snapshot as MessagePack through msgspec, which is what the cache holds now.
With REDIS_URL_FOR_TESTS set, a `cache.get` through Django's Redis backend (loopback) is
timed as well. Figures are the best of 5 rounds of `--repeat` calls (a shared machine:
indicative; compare the ratios, measured in the same run).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import pickle
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def legacy_dict(snapshot) -> dict:
    """The snapshot in the shape it had before: dicts indexed with str(id)."""
    plain = dataclasses.asdict(snapshot)

    def lists(value):
        if isinstance(value, dict):
            return {k: lists(v) for k, v in value.items()}
        if hasattr(value, "_asdict"):  # the named tuples (uptime bars) were dicts too
            return {k: lists(v) for k, v in value._asdict().items()}
        if isinstance(value, list | tuple):
            return [lists(v) for v in value]
        return value

    plain = lists(plain)
    plain["status"] = {"indicator": plain.pop("indicator")}
    plain["components"] = {str(k): v for k, v in plain["components"].items()}
    plain["incidents"] = {str(k): v for k, v in plain["incidents"].items()}
    uptime = plain["uptime"]
    uptime["components"] = {str(k): v for k, v in uptime["components"].items()}
    return plain


def best(stmt, repeat: int) -> float:
    """Seconds per call: the best of 5 rounds of `repeat` calls."""
    return min(timeit.repeat(stmt, number=repeat, repeat=5)) / repeat


def build_page(components: int):
    from incidents import services
    from incidents.models import Page
    from incidents.services import System

    actor = System("bench")
    page = services.save_page(Page(slug="bench", name="Bench"), actor=None)
    from incidents.models import ComponentGroup

    groups = [
        services.save_group(ComponentGroup(page=page, name=f"Group {g}"), actor=None)
        for g in range(5)
    ]
    made = [
        services.create_component(
            page, actor=None, name=f"Component {n}", group=groups[n % len(groups)]
        )
        for n in range(components)
    ]
    for n in range(40):
        incident = services.open_incident(
            page,
            actor=actor,
            name=f"Incident {n}",
            status="investigating",
            impact="minor",
            body="We are looking into it. " * 4,
            components={made[n % len(made)].pk: "partial_outage"},
        )
        for status in ("identified", "monitoring"):
            services.post_update(incident, actor=actor, status=status, body="An update. " * 8)
        if n >= 8:
            services.resolve_incident(incident, actor=actor, body="Resolved. " * 3)
    return Page.objects.get(pk=page.pk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-snapshot-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{work}/bench.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuv")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    redis_url = os.environ.get("REDIS_URL_FOR_TESTS")
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from incidents.snapshot import build_page_snapshot, decode_snapshot, encode_snapshot
    from incidents.snapshot_types import PageSnapshot

    page = build_page(args.components)
    snapshot = build_page_snapshot(page)
    legacy = legacy_dict(snapshot)
    print(
        f"page: {len(snapshot.components)} components, {len(snapshot.incidents)} incidents, "
        f"{sum(len(u.days) for u in snapshot.uptime.components.values())} uptime bars"
    )

    encoded = encode_snapshot(snapshot)
    pickled_legacy = pickle.dumps(legacy, pickle.HIGHEST_PROTOCOL)
    pickled_typed = pickle.dumps(snapshot, pickle.HIGHEST_PROTOCOL)
    forms = {
        "dicts, pickled (before)": (
            len(pickled_legacy),
            lambda: pickle.dumps(legacy, pickle.HIGHEST_PROTOCOL),
            lambda: pickle.loads(pickled_legacy),
        ),
        "dataclasses, pickled": (
            len(pickled_typed),
            lambda: pickle.dumps(snapshot, pickle.HIGHEST_PROTOCOL),
            lambda: pickle.loads(pickled_typed),
        ),
        "dataclasses, msgpack (now)": (
            len(encoded),
            lambda: encode_snapshot(snapshot),
            lambda: decode_snapshot(encoded, PageSnapshot),
        ),
    }
    assert decode_snapshot(encoded, PageSnapshot) == snapshot
    print(f"{'form':<28}{'bytes':>9}{'encode ms':>11}{'decode ms':>11}{'decode ratio':>14}")
    baseline = None
    for name, (size, dump, load) in forms.items():
        dumps, loads = best(dump, args.repeat), best(load, args.repeat)
        baseline = baseline or loads
        print(
            f"{name:<28}{size:>9}{dumps * 1e3:>11.3f}{loads * 1e3:>11.3f}{loads / baseline:>13.2f}x"
        )

    if redis_url:
        from django.core.cache.backends.redis import RedisCache

        cache = RedisCache(redis_url, {"KEY_PREFIX": f"bench-snapshot-{os.getpid()}"})
        try:
            cache.set("legacy", legacy, 60)
            cache.set("typed", encoded, 60)
            legacy_get = best(lambda: cache.get("legacy"), args.repeat)
            typed_get = best(lambda: decode_snapshot(cache.get("typed"), PageSnapshot), args.repeat)
            print(
                f"Redis cache.get (loopback): dicts {legacy_get * 1e3:.3f} ms, "
                f"msgpack + decode {typed_get * 1e3:.3f} ms ({typed_get / legacy_get:.2f}x)"
            )
        finally:
            cache.delete_many(["legacy", "typed"])
    print(f"measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
