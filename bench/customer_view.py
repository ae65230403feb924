"""Benchmark: what the customer view (/my/) and the siblings' status in the header cost.

    .venv/bin/python bench/customer_view.py [--components 30] [--repeat 20]

Builds two pages (components in groups, 40 incidents with updates on each) and a customer
using half of each page's services plus 5 customer-only ones, in a throw-away SQLite database.
Times, in the same run:
- `build_customer_view` (what every /my/ request builds; not cached: it is per customer and
  small) against `build_page_snapshot` of one page (what a public page costs on a cache miss),
  with the queries each runs;
- `sibling_pages` (the header's other pages with their status, from the cached snapshots)
  against the plain cached list of names it replaced, both with a warm cache.
Figures are the best of 5 rounds of `--repeat` calls (a shared machine: compare the ratios).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best(stmt, repeat: int) -> float:
    return min(timeit.repeat(stmt, number=repeat, repeat=5)) / repeat


def build(components: int):
    from incidents import services
    from incidents.models import Component, ComponentGroup, Customer, Page
    from incidents.services import System

    actor = System("bench")
    pages, mine = [], []
    for slug in ("it", "telephony"):
        page = services.save_page(Page(slug=slug, name=slug.title()), actor=None)
        groups = [
            services.save_group(ComponentGroup(page=page, name=f"Group {g}"), actor=None)
            for g in range(5)
        ]
        made = [
            services.create_component(
                page, actor=None, name=f"{slug} {n}", group=groups[n % len(groups)]
            )
            for n in range(components)
        ]
        own = [services.create_component(page, actor=None, name=f"Own {n}") for n in range(5)]
        Component.objects.filter(pk__in=[c.pk for c in own]).update(visibility="customers")
        mine += made[::2] + own
        for n in range(40):
            incident = services.open_incident(
                page,
                actor=actor,
                name=f"Incident {n}",
                body="We are looking into it. " * 4,
                components={made[n % len(made)].pk: "partial_outage"},
            )
            services.post_update(incident, actor=actor, status="identified", body="Update. " * 8)
            if n >= 8:
                services.resolve_incident(incident, actor=actor, body="Resolved.")
        pages.append(Page.objects.get(pk=page.pk))
    customer = Customer.objects.create(code="acme", name="Acme", page=pages[0])
    customer.components.set(mine)
    return pages, customer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-customer-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{work}/bench.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuv")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    from incidents.snapshot import build_page_snapshot, page_snapshot
    from statuspage.customer_view import build_customer_view
    from statuspage.views import sibling_pages

    pages, customer = build(args.components)
    view = build_customer_view(customer)
    print(
        f"customer: {len(view.component_ids)} services on {len(view.pages)} pages, "
        f"{len(view.unresolved)} open and {len(view.recent)} recent incidents; "
        f"page: {args.components} components, 40 incidents"
    )

    def queries(function) -> int:
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            function()
        return len(captured)

    mine = best(lambda: build_customer_view(customer), args.repeat)
    page = best(lambda: build_page_snapshot(pages[0]), args.repeat)
    print(
        f"build_customer_view {mine * 1e3:.2f} ms ({queries(lambda: build_customer_view(customer))}"
        f" queries) vs build_page_snapshot {page * 1e3:.2f} ms "
        f"({queries(lambda: build_page_snapshot(pages[0]))} queries): {mine / page:.2f}x"
    )

    for p in pages:
        page_snapshot(p)
    names = [{"slug": p.slug, "name": p.name} for p in pages]
    cache.set("public:pages", names, 300)
    sibling_pages(pages[0])  # warm

    def old_list():  # the header's list before: names only, from the cache
        listed = cache.get("public:pages")
        return [p for p in listed if p["slug"] != pages[0].slug]

    from statuspage.views import siblings_version

    key_part = best(siblings_version, args.repeat * 50)
    with_status = best(lambda: sibling_pages(pages[0]), args.repeat * 50)
    plain = best(old_list, args.repeat * 50)
    print(
        f"header siblings with status {with_status * 1e6:.1f} µs "
        f"({queries(lambda: sibling_pages(pages[0]))} queries, warm cache) vs names only "
        f"{plain * 1e6:.1f} µs: {with_status / plain:.1f}x; the pages' versions in every "
        f"request's HTML cache key: {key_part * 1e6:.1f} µs"
    )
    print(f"measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
