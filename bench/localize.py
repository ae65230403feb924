"""Benchmark: what giving a reader their language's texts costs on top of a snapshot cache hit.

    .venv/bin/python bench/localize.py [--components 30] [--repeat 200]

Builds the page of bench/snapshot_cache.py (components in groups, 40 incidents with updates, 90
days of uptime bars) in a throw-away SQLite database, twice: once with no translations and once
with a Dutch text for every component, group, incident title and update message. Times:
- the baseline: a cache hit of the snapshot (MessagePack decode), what every public rendering
  that misses its own HTML cache pays already;
- `localize(snapshot, "nl")` with nothing translated (the check that returns the same object);
- `localize(snapshot, "nl")` with everything translated (the copy a Dutch reader gets).
The rendered HTML is cached per (page version, language), so this runs once per version and
language, not per request. Best of 5 rounds of `--repeat` calls (indicative on a shared
machine; compare the ratios, measured in the same run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def translate_everything(page) -> None:
    from incidents.models import Component, ComponentGroup, Incident, IncidentUpdate

    for model, field in (
        (Component, "name"),
        (ComponentGroup, "name"),
        (Incident, "name"),
        (IncidentUpdate, "body"),
    ):
        rows = model.objects.all()
        for row in rows:
            setattr(row, f"{field}_translations", {"nl": f"NL {getattr(row, field)}"})
        model.objects.bulk_update(rows, [f"{field}_translations"])
    page.version += 1
    page.save(update_fields=["version"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-localize-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{work}/bench.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuv")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from snapshot_cache import best, build_page

    from incidents.snapshot import build_page_snapshot, decode_snapshot, encode_snapshot
    from incidents.snapshot_languages import localize
    from incidents.snapshot_types import PageSnapshot

    page = build_page(args.components)
    plain = build_page_snapshot(page)
    translate_everything(page)
    translated = build_page_snapshot(page)
    assert localize(plain, "nl") is plain
    assert localize(translated, "nl").incidents[next(iter(translated.incidents))].name[:3] == "NL "
    print(
        f"page: {len(plain.components)} components, {len(plain.incidents)} incidents, "
        f"{sum(len(i.incident_updates) for i in plain.incidents.values())} updates"
    )
    plain_bytes, translated_bytes = encode_snapshot(plain), encode_snapshot(translated)
    print(
        f"cached snapshot: {len(plain_bytes)} bytes without translations, "
        f"{len(translated_bytes)} with ({len(translated_bytes) / len(plain_bytes):.2f}x)"
    )
    baseline = best(lambda: decode_snapshot(translated_bytes, PageSnapshot), args.repeat)
    nothing = best(lambda: localize(plain, "nl"), args.repeat)
    everything = best(lambda: localize(translated, "nl"), args.repeat)
    print(f"{'step':<44}{'ms':>9}{'vs decode':>11}")
    for name, seconds in (
        ("snapshot cache hit (decode, baseline)", baseline),
        ("localize, nothing translated", nothing),
        ("localize, everything translated", everything),
    ):
        print(f"{name:<44}{seconds * 1e3:>9.3f}{seconds / baseline:>10.2f}x")
    print(f"measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
