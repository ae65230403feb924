"""The mirror on S3-compatible storage, against a real S3 API server on localhost (moto's
standalone server in a subprocess): objects and their headers, upload order, only changed
objects re-uploaded, what left the public site removed, the notice, a dead endpoint."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import brotli
import pytest
import time_machine

from incidents import services
from incidents.models import Component
from statuspage.mirror.models import MirrorTarget
from statuspage.mirror.publish import publish_mirror, publish_notice
from statuspage.mirror.targets import S3Target, target_for

pytestmark = pytest.mark.slow

BUCKET = "status-mirror"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP answer: it is up
                break
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(f"moto did not start: {log.read_text()}")
    yield url
    process.kill()
    process.wait(10)


@pytest.fixture
def s3(s3_server, monkeypatch, settings):
    """A fresh bucket; credentials and endpoint the standard boto3 way (environment)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    import boto3

    client = boto3.client("s3")
    for item in (
        client.list_objects_v2(Bucket=BUCKET).get("Contents", []) if _exists(client) else []
    ):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    if not _exists(client):
        client.create_bucket(Bucket=BUCKET)
    settings.MIRROR_TARGETS = [f"s3://{BUCKET}/status"]
    return client


def _exists(client) -> bool:
    return BUCKET in {b["Name"] for b in client.list_buckets()["Buckets"]}


def objects(client) -> dict[str, str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix="status/", MaxKeys=1000)
    return {o["Key"][len("status/") :]: o["ETag"] for o in listing.get("Contents", [])}


def record_uploads(monkeypatch) -> list[str]:
    """The keys PUT, in order, through botocore's own event hooks."""
    uploads: list[str] = []
    make = S3Target._client

    def client(self):
        made = make(self)
        made.meta.events.register(
            "before-call.s3.PutObject",
            lambda params, **kw: uploads.append(params["url_path"].split("/status/", 1)[1]),
        )
        return made

    monkeypatch.setattr(S3Target, "_client", client)
    return uploads


def test_objects_carry_their_type_encoding_and_cache_policy(s3, it_page, monkeypatch):
    uploads = record_uploads(monkeypatch)
    [outcome] = publish_mirror()
    assert outcome.error == "", outcome.error
    stored = objects(s3)
    assert {"index.html", "p/it/index.html", "p/it/api/v2/summary.json", "mirror.json"} <= set(
        stored
    )
    page = s3.get_object(Bucket=BUCKET, Key="status/p/it/index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert "max-age=30" in page["CacheControl"]
    packed = s3.get_object(Bucket=BUCKET, Key="status/p/it/index.html.gz")
    assert packed["ContentEncoding"] == "gzip" and packed["ContentType"].startswith("text/html")
    body = page["Body"].read()
    assert gzip.decompress(packed["Body"].read()) == body
    packed = s3.get_object(Bucket=BUCKET, Key="status/p/it/index.html.br")
    assert packed["ContentEncoding"] == "br" and packed["ContentType"].startswith("text/html")
    assert brotli.decompress(packed["Body"].read()) == body
    summary = s3.get_object(Bucket=BUCKET, Key="status/p/it/api/v2/summary.json")
    assert summary["ContentType"].startswith("application/json")
    asset = next(k for k in stored if k.startswith("static/") and k.endswith(".css"))
    assert "immutable" in s3.get_object(Bucket=BUCKET, Key=f"status/{asset}")["CacheControl"]
    heartbeat = s3.get_object(Bucket=BUCKET, Key="status/mirror.json")
    assert heartbeat["CacheControl"] == "no-cache"
    # Assets first, pages next, the heartbeat last.
    assert uploads[-1] == "mirror.json"
    last_asset = max(i for i, key in enumerate(uploads) if key.startswith("static/"))
    first_page = min(i for i, key in enumerate(uploads) if not key.startswith("static/"))
    assert last_asset < first_page
    assert len(uploads) == len(stored)


def test_only_changed_objects_are_uploaded_again(s3, it_page, monkeypatch):
    publish_mirror()
    before = objects(s3)
    uploads = record_uploads(monkeypatch)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)):
        publish_mirror()
    # Nothing changed but the time: the heartbeat alone (pages carry their content's time).
    assert uploads == ["mirror.json"]
    uploads.clear()
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.set_component_status(vpn, "major_outage", actor=None)
    [outcome] = publish_mirror(pages=["it"])
    after = objects(s3)
    assert "p/it/api/v2/components.json" in uploads
    assert outcome.result.written == len(uploads) < len(after)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == set(uploads)
    components = json.loads(
        s3.get_object(Bucket=BUCKET, Key="status/p/it/api/v2/components.json")["Body"].read()
    )
    assert {c["name"]: c["status"] for c in components["components"]}["VPN"] == "major_outage"


def test_what_leaves_the_public_site_is_removed_from_the_bucket(s3, it_page):
    vpn = Component.objects.get(page=it_page, name="VPN")
    incident = services.open_incident(
        it_page, actor=None, name="VPN down", body="Looking.", components={vpn.pk: "major_outage"}
    )
    publish_mirror()
    assert f"p/it/incidents/{incident.pk}/index.html" in objects(s3)
    services.update_component(vpn, actor=None, is_visible=False)
    [outcome] = publish_mirror()
    assert outcome.result.deleted > 0
    stored = objects(s3)
    assert not any(f"incidents/{incident.pk}/" in key for key in stored)


def test_an_emergency_notice_reads_the_bucket_and_touches_no_database(
    s3, it_page, django_assert_num_queries
):
    publish_mirror()
    with django_assert_num_queries(0):  # the data centre is dark: no database at all
        publish_notice(target_for(f"s3://{BUCKET}/status"), "Power is out at our data centre.")
    page = s3.get_object(Bucket=BUCKET, Key="status/p/it/index.html")["Body"].read().decode()
    assert "Power is out at our data centre." in page
    summary = s3.get_object(Bucket=BUCKET, Key="status/p/it/api/v2/summary.json")["Body"].read()
    assert json.loads(summary)["notice"]["body"] == "Power is out at our data centre."


def test_a_dead_endpoint_does_not_stop_the_directory_target(s3, it_page, settings, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with tempfile.TemporaryDirectory() as folder:
        directory = f"file://{folder}/mirror"
        settings.MIRROR_TARGETS = [f"s3://{BUCKET}/status", directory]
        failed, published = publish_mirror()
        assert failed.error and "127.0.0.1" in failed.error
        assert published.error == "" and published.result.files > 0
    row = MirrorTarget.objects.get(url=f"s3://{BUCKET}/status")
    assert row.failures == 1 and row.retry_at is not None
