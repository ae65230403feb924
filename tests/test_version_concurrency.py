"""The page version never moves back, with writers and a page save running at the same time.

Real PostgreSQL, real transactions in threads: writers post updates and change components while
an engineer's admin save writes the page object it loaded before they started.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from incidents import services
from incidents.models import Component, Page

ROUNDS = 15


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_and_a_stale_page_save_never_move_the_version_back(it_page):
    if connection.vendor != "postgresql":
        pytest.skip("parallel writers need PostgreSQL; SQLite runs one writer at a time")
    incident = services.open_incident(it_page, actor=None, name="Down", body="Looking.")
    components = list(Component.objects.filter(page=it_page).order_by("pk"))
    stale = Page.objects.get(pk=it_page.pk)  # loaded before every write below
    start = Page.objects.values_list("version", flat=True).get(pk=it_page.pk)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    seen: list[int] = []
    done = threading.Event()

    def work(step):
        barrier.wait()
        try:
            for n in range(ROUNDS):
                step(n)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    def post_updates(n):
        services.post_update(incident, actor=None, body=f"Update {n}.")

    def change_components(n):
        status = "major_outage" if n % 2 else "partial_outage"
        services.set_component_status(components[n % len(components)], status, actor=None)

    def save_stale_page(n):
        stale.name = f"IT services ({n})"
        services.save_page(stale, actor=None)

    def watch():
        barrier.wait()
        try:
            while not done.is_set():
                seen.append(Page.objects.values_list("version", flat=True).get(pk=it_page.pk))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(post_updates,)),
        threading.Thread(target=work, args=(change_components,)),
        threading.Thread(target=work, args=(save_stale_page,)),
        threading.Thread(target=watch),
    ]
    for thread in threads:
        thread.start()
    for thread in threads[:3]:
        thread.join()
    done.set()
    threads[3].join()
    assert not errors, errors
    assert seen == sorted(seen), "the version moved back"
    final = Page.objects.get(pk=it_page.pk)
    # One bump per intent: nothing lost, nothing written back.
    assert final.version == start + 3 * ROUNDS
    assert final.name == f"IT services ({ROUNDS - 1})"
