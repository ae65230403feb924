"""The static mirror in a directory: every public path under the app's own URL paths, each
language in its tree with a working switch, hashed assets and .gz siblings, the standby note,
v2 JSON equal to the app's, partial publishes, publishing on every change (debounced), the
admin's status per target, and the emergency notice without a database."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import brotli
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import Component
from incidents.snapshot import page_snapshot
from statuspage.mirror.models import MirrorTarget
from statuspage.mirror.publish import _debouncer, publish_mirror, schedule_publish

from .factories import make_component
from .mirror_helpers import broken_links, every_text, heartbeat, internal_links, release
from .test_badges_embed import badge_texts

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mirror(settings, tmp_path):
    root = tmp_path / "mirror"
    settings.MIRROR_TARGETS = [f"file://{root}"]
    yield root
    # The changes a test made asked the in-process publisher for a publish: it must not land
    # in the next test's target (it reads MIRROR_TARGETS when it runs).
    assert _debouncer.wait_idle(60)


@pytest.fixture
def incident(it_page, phone_page):
    vpn = Component.objects.get(page=it_page, name="VPN")
    return services.open_incident(
        it_page,
        actor=None,
        name="VPN drops connections",
        body="We are looking into it.",
        components={vpn.pk: "partial_outage"},
    )


def test_every_public_path_is_published_under_the_apps_own_paths(mirror, incident):
    [outcome] = publish_mirror()
    assert outcome.error == ""
    tree = release(mirror)
    for path in [
        "index.html",
        "p/it/index.html",
        f"p/it/incidents/{incident.pk}/index.html",
        "p/it/history/index.html",
        "p/it/api/v2/summary.json",
        "p/it/api/v2/components.json",
        "p/it/api/v2/incidents/unresolved.json",
        "p/it/api/v2/scheduled-maintenances/upcoming.json",
        "api/v2/summary.json",
        "p/it/live.json",
        "p/it/history.atom",
        "p/it/history.rss",
        "p/it/phone.json",
        "p/it/phone.txt",
        "p/it/handout/index.html",
        "p/it/handout.pdf",
        "p/telephony/index.html",
        "404.html",
        "mirror.json",
    ]:
        assert (tree / path).is_file(), path
    # Text files come with a pre-compressed sibling holding the same bytes.
    page = (tree / "p/it/index.html").read_bytes()
    assert gzip.decompress((tree / "p/it/index.html.gz").read_bytes()) == page
    assert brotli.decompress((tree / "p/it/index.html.br").read_bytes()) == page
    assert len((tree / "p/it/index.html.br").read_bytes()) < len(
        (tree / "p/it/index.html.gz").read_bytes()
    )
    assert (tree / "p/it/handout.pdf").read_bytes().startswith(b"%PDF")
    incident.page.refresh_from_db()
    assert heartbeat(tree)["versions"]["it"] == incident.page.version
    assert broken_links(tree) == {}


def test_v2_json_is_byte_for_byte_what_the_app_serves(mirror, incident):
    publish_mirror()
    tree = release(mirror)
    client = Client()
    for name in ["summary", "status", "components", "incidents", "incidents/unresolved"]:
        served = client.get(f"/p/it/api/v2/{name}.json").json()
        assert json.loads((tree / f"p/it/api/v2/{name}.json").read_text()) == served
    assert json.loads((tree / "p/it/api/v2/summary.json").read_text())["incidents"][0]["name"] == (
        "VPN drops connections"
    )


def test_each_language_has_its_tree_and_the_switch_links_between_them(mirror, incident):
    publish_mirror()
    tree = release(mirror)
    english = (tree / "p/it/index.html").read_text()
    dutch = (tree / "nl/p/it/index.html").read_text()
    assert '<html lang="en">' in english and '<html lang="nl">' in dutch
    assert 'href="/nl/p/it/"' in english  # the switch, no cookie needed
    assert 'href="/p/it/"' in dutch
    assert f'href="/nl/p/it/incidents/{incident.pk}/"' in dutch  # Dutch links stay Dutch
    # The telephony page speaks Dutch by default: English is its other tree.
    assert '<html lang="nl">' in (tree / "p/telephony/index.html").read_text()
    assert '<html lang="en">' in (tree / "en/p/telephony/index.html").read_text()
    assert not (tree / "en/p/it").exists()  # English is the IT page's own tree
    # Dutch live.json (the page's script polls it) links into the Dutch tree too.
    live = json.loads((tree / "nl/p/it/live.json").read_text())
    assert live["language"] == "nl"
    assert all(link.startswith("/nl/") for link in internal_links(json.dumps(live)))


def test_assets_get_content_hashed_names_and_pages_use_them(mirror, it_page):
    publish_mirror()
    tree = release(mirror)
    html = (tree / "p/it/index.html").read_text()
    assets = [link for link in internal_links(html) if link.startswith("/static/")]
    assert assets and all(len(Path(a).suffixes) >= 2 for a in assets), assets
    css = next(a for a in assets if a.endswith(".css"))
    source = (ROOT / "statuspage/static/statuspage/status.css").read_bytes()
    assert (tree / css.lstrip("/")).read_bytes() == source


def test_a_mirrored_page_says_it_is_the_standby_copy_and_whom_to_call(mirror, it_page):
    publish_mirror()
    tree = release(mirror)
    html = (tree / "p/it/index.html").read_text()
    assert "data-standby" in html and "This is the standby copy" in html
    assert "We may be having a larger outage" in html  # shown by mirror.js when stale
    assert "+31 20 123 4567" in html and "/static/statuspage/mirror." in html
    dutch = (tree / "nl/p/it/index.html").read_text()
    assert "We hebben mogelijk een grotere storing" in dutch


def test_what_only_the_live_app_can_do_gets_a_page_with_the_numbers_to_call(mirror, it_page):
    publish_mirror()
    tree = release(mirror)
    report = (tree / "p/it/report/index.html").read_text()
    assert "needs the live status page" in report and "+31 20 123 4567" in report
    assert (tree / "nl/p/it/subscribe/index.html").is_file()
    # The live app's page still links to its real report form.
    assert Client().get("/p/it/report/").status_code == 200


def test_a_hidden_component_and_its_incident_appear_nowhere_in_the_mirror(mirror, it_page):
    secret = make_component(it_page, "Secret billing backend", is_visible=False)
    services.open_incident(
        it_page,
        actor=None,
        name="Quarterly ledger corruption",
        body="Only the finance team should know.",
        components={secret.pk: "major_outage"},
    )
    publish_mirror()
    text = every_text(release(mirror))
    assert "Internet access" in text  # a visible component is there
    for leak in ["Secret billing backend", "Quarterly ledger corruption", "finance team"]:
        assert leak not in text


def test_publishing_one_page_keeps_the_other_pages_files(mirror, incident, phone_page):
    publish_mirror()
    before = release(mirror)
    phone_before = (before / "p/telephony/index.html").read_bytes()
    services.post_update(incident, actor=None, status="identified", body="Found the router.")
    [outcome] = publish_mirror(pages=["it"])
    after = release(mirror)
    assert after != before
    assert "Found the router." in (after / f"p/it/incidents/{incident.pk}/index.html").read_text()
    assert "Found the router." in (after / "index.html").read_text()  # the default page at /
    assert (after / "p/telephony/index.html").read_bytes() == phone_before
    versions = heartbeat(after)["versions"]
    incident.page.refresh_from_db()
    assert versions == {"it": incident.page.version, "telephony": phone_page.version}
    assert outcome.result.written < outcome.result.files  # unchanged files are not rewritten
    assert broken_links(after) == {}


def test_the_admin_shows_each_targets_last_publish_and_error(
    mirror, settings, it_page, admin_user_, tmp_path
):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the target directory should be")
    settings.MIRROR_TARGETS = [f"file://{blocked}", f"file://{mirror}"]
    failing, working = publish_mirror()
    assert failing.error and working.error == ""  # one failing target does not stop the other
    assert (release(mirror) / "p/it/index.html").is_file()
    bad = MirrorTarget.objects.get(url=f"file://{blocked}")
    assert bad.failures == 1 and bad.retry_at is not None and bad.published_at is None
    good = MirrorTarget.objects.get(url=f"file://{mirror}")
    assert good.published_at and good.error == "" and good.versions["it"] == it_page.version
    publish_mirror()
    bad.refresh_from_db()
    assert bad.failures == 2 and (bad.retry_at - bad.attempted_at).total_seconds() == 60

    client = Client()
    client.force_login(admin_user_)
    listing = client.get(reverse("admin:mirror_mirrortarget_changelist")).content.decode()
    assert str(blocked) in listing and str(mirror) in listing
    assert "Not a directory" in listing or "not a directory" in listing.lower()


@pytest.mark.django_db(transaction=True)
def test_a_change_publishes_once_after_a_burst_in_process(mirror, settings, it_page):
    # The fixtures' own changes publish first (with the default debounce, a slow machine may
    # start that publish during the burst, which then rightly publishes once more).
    assert _debouncer.wait_idle(60)
    releases = mirror / "releases"
    before = set(releases.iterdir()) if releases.exists() else set()
    settings.MIRROR_DEBOUNCE_SECONDS = 3
    vpn = Component.objects.get(page=it_page, name="VPN")
    for status in ["degraded_performance", "partial_outage", "major_outage"]:
        services.set_component_status(vpn, status, actor=None)
    assert _debouncer.wait_idle(60)
    it_page.refresh_from_db()
    tree = release(mirror)
    assert heartbeat(tree)["versions"]["it"] == it_page.version
    summary = json.loads((tree / "p/it/api/v2/components.json").read_text())
    assert {c["name"]: c["status"] for c in summary["components"]}["VPN"] == "major_outage"
    assert len(set(releases.iterdir()) - before) == 1  # three changes, one publish


def test_without_targets_a_change_publishes_nothing(settings, it_page, tmp_path):
    settings.MIRROR_TARGETS = []
    schedule_publish("it")
    assert _debouncer.thread is None


def test_publish_mirror_command_publishes_now(mirror, it_page, capsys):
    from django.core.management import call_command

    call_command("publish_mirror", "--page", "it")
    assert f"file://{mirror}:" in capsys.readouterr().out
    assert (release(mirror) / "p/it/index.html").is_file()


@pytest.mark.slow
def test_an_emergency_notice_needs_no_database(mirror, incident):
    publish_mirror()
    before = heartbeat(release(mirror))
    env = {
        **os.environ,
        # Nothing listens there: any database access would fail the command.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "SECRET_KEY": "test-secret-key-0123456789abcdefghijklmnop",
        "DEBUG": "0",
    }
    text = "Our data centre has no power. Call +31 20 555 0100 for urgent issues."
    done = subprocess.run(
        [sys.executable, "manage.py", "mirror_notice", "--target", f"file://{mirror}", text],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    tree = release(mirror)
    for page in ["index.html", "p/it/index.html", "nl/p/it/index.html", "p/telephony/index.html"]:
        html = (tree / page).read_text()
        assert "Our data centre has no power." in html, page
        assert gzip.decompress((tree / f"{page}.gz").read_bytes()).decode() == html
    summary = json.loads((tree / "p/it/api/v2/summary.json").read_text())
    assert summary["notice"]["body"] == text
    assert (tree / "p/it/phone.txt").read_text().startswith(f"NOTICE: {text}")
    after = heartbeat(tree)
    assert after["published_at"] == before["published_at"]  # the data is as old as it was
    assert after["notice"]["body"] == text


def test_a_heartbeat_with_nothing_new_rewrites_only_mirror_json(mirror, it_page, phone_page):
    # (No outage today: an open or recent outage's uptime for today really does change from
    # one minute to the next, and is published when it does.)
    publish_mirror()
    first = release(mirror)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=7)
    with time_machine.travel(later):
        [outcome] = publish_mirror()
    tree = release(mirror)
    assert outcome.result.written == 1  # the heartbeat, nothing else
    assert heartbeat(tree)["published_at"] > heartbeat(first)["published_at"]
    page = (tree / "p/it/index.html").read_text()
    assert (first / "p/it/index.html").read_text() == page
    # The page says when its content last changed, which stays true without JavaScript;
    # mirror.js adds the heartbeat's time from mirror.json.
    shown = re.search(r'data-changed="([^"]+)"', page)
    assert shown and dt.datetime.fromisoformat(shown[1]) == page_snapshot(it_page).changed_at()
    assert "What it shows last changed on" in page and "data-standby-checked hidden" in page
    assert " nonce=" not in page  # the app's per-request CSP nonce would change every build


def test_badges_of_the_page_and_its_public_components_are_in_the_mirror(mirror, incident):
    hidden = make_component(incident.page, "Secret billing backend", is_visible=False)
    publish_mirror()
    tree = release(mirror)
    client = Client()
    assert (tree / "p/it/badge.svg").read_bytes() == client.get("/p/it/badge.svg").content
    assert badge_texts((tree / "badge.svg").read_bytes())[0].startswith("IT services: ")
    vpn = Component.objects.get(page=incident.page, name="VPN")
    title, _texts = badge_texts((tree / f"p/it/components/{vpn.pk}/badge.svg").read_bytes())
    assert title == "VPN: Partial outage"
    dutch = badge_texts((tree / f"nl/p/it/components/{vpn.pk}/badge.svg").read_bytes())[0]
    assert dutch == "VPN: Gedeeltelijke storing"
    assert not (tree / f"p/it/components/{hidden.pk}").exists()
    assert not list(tree.rglob(f"components/{hidden.pk}/*"))


def test_a_custom_host_gets_a_tree_laid_out_as_the_app_serves_that_host(
    mirror, incident, phone_page, settings
):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "status.telephony.example"]
    settings.MIRROR_PUBLIC_URL = "https://mirror.example.com"
    phone_page.custom_host = "status.telephony.example"
    services.save_page(phone_page, actor=None)
    publish_mirror()
    tree = release(mirror) / "hosts/status.telephony.example"
    assert (tree / "p").exists() is False  # the page is at the host's root
    app = Client().get("/", HTTP_HOST="status.telephony.example").content.decode()
    home = (tree / "index.html").read_text()
    assert "Inbound calls" in app and "Inbound calls" in home
    assert 'href="/en/"' in home  # the language switch, in this host's tree
    assert 'href="https://mirror.example.com/p/it/"' in home  # another page: the main mirror
    assert (tree / "en/index.html").is_file() and (tree / "404.html").is_file()
    assert heartbeat(tree)["versions"] == heartbeat(release(mirror))["versions"]
    assert broken_links(tree) == {}
    assert heartbeat(release(mirror))["hosts"] == {"status.telephony.example": "telephony"}
    # Publishing only the IT page keeps the telephony host's tree.
    services.post_update(incident, actor=None, status="identified", body="Found it.")
    publish_mirror(pages=["it"])
    assert (release(mirror) / "hosts/status.telephony.example/index.html").read_text() == home
