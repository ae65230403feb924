"""Benchmark: the static mirror. Change-to-visible latency per target, bytes and objects per
publish, and nginx serving the mirror against the app serving the same page.

    .venv/bin/python bench/mirror.py [--changes 20] [--seconds 5] [--connections 64]

Loads the demo data into a throw-away SQLite database (or uses DATABASE_URL), collects the
static files, starts moto's S3 server on localhost, and in this process:

1. for each target (a directory, then S3): 20 changes through the service layer, each timed
   from the service call to the target's `mirror.json` naming the new version (the real path:
   domain event -> notifications' listener -> debounced in-process publisher, as in embedded
   mode; MIRROR_DEBOUNCE_SECONDS=0.2 here), p50/p99 against the targets 2 s and 5 s;
2. a full publish to fresh targets, an incremental one (one change, its page), and a heartbeat
   (no change): files in the copy, files and bytes written;
3. gunicorn (sync, 2 workers) serving the app and nginx (docs/nginx-mirror.conf) serving the
   directory mirror, `/p/it/` with gzip, driven by wrk side by side; requests/s and the ratio.

Needs Debian's `nginx-light` and `wrk` (installed with apt-get when missing, as root).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from public_page import ensure_tools, free_port, run_wrk, wait_for  # noqa: E402

PYTHON = sys.executable
BUCKET = "bench-mirror"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_moto(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=(work / "moto.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            wait_for(url, timeout=1)
            break
        except OSError as error:
            if getattr(error, "code", None):
                break
            time.sleep(0.2)
    return process, url


def visible_version(target: str, s3) -> int:
    """The IT page's version the target's heartbeat names (0 when unreadable)."""
    try:
        if target.startswith("file://"):
            body = (Path(target[7:]) / "current" / "mirror.json").read_bytes()
        else:
            body = s3.get_object(Bucket=BUCKET, Key="status/mirror.json")["Body"].read()
        return json.loads(body)["versions"]["it"]
    except Exception:  # noqa: BLE001 - not there yet
        return 0


def change_to_visible(target: str, changes: int, s3) -> list[float]:
    from django.conf import settings

    from incidents import services
    from incidents.models import Component, Page
    from statuspage.mirror.publish import _debouncer

    settings.MIRROR_TARGETS = [target]
    vpn = Component.objects.get(page__slug="it", name="VPN")
    statuses = ["degraded_performance", "partial_outage", "major_outage", "operational"]
    timings, cpu = [], []
    for n in range(changes):
        started = time.perf_counter()
        cpu_before = time.process_time()
        services.set_component_status(vpn, statuses[n % 4], actor=None)
        version = Page.objects.get(slug="it").version
        while visible_version(target, s3) < version:
            if time.perf_counter() - started > 60:
                raise SystemExit(f"{target}: change {n} not visible after 60 s")
            time.sleep(0.01)
        timings.append(time.perf_counter() - started)
        _debouncer.wait_idle(60)
        cpu.append(time.process_time() - cpu_before)
    return timings, cpu


def publish_sizes(targets: list[str]) -> list[tuple[str, str, object]]:
    from django.conf import settings

    from incidents import services
    from incidents.models import Component
    from statuspage.mirror.publish import publish_mirror

    settings.MIRROR_TARGETS = []  # publish by hand below, not on the change's event
    rows = []
    for label, run in [
        ("full", lambda: publish_mirror(targets=targets)),
        ("heartbeat (no change)", lambda: publish_mirror(targets=targets)),
        ("incremental (one change)", None),
    ]:
        if run is None:
            vpn = Component.objects.get(page__slug="it", name="VPN")
            services.set_component_status(vpn, "major_outage", actor=None)
            outcomes = publish_mirror(targets=targets, pages=["it"])
        else:
            outcomes = run()
        for outcome in outcomes:
            rows.append((label, outcome.url, outcome))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--serving-only", action="store_true", help="publish once, then only nginx vs the app"
    )
    args = parser.parse_args()
    ensure_tools()
    work = Path(tempfile.mkdtemp(prefix="bench-mirror-"))
    work.chmod(0o755)
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{work}/bench.sqlite3"),
        "LOG_LEVEL": "WARNING",
        "MIRROR_DEBOUNCE_SECONDS": "0.2",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    manage = [PYTHON, "manage.py"]
    for command in (["migrate", "--noinput"], ["load_demo"], ["collectstatic", "--noinput"]):
        subprocess.run(manage + command, cwd=ROOT, check=True, capture_output=True)
    moto, s3_url = start_moto(work)
    os.environ["AWS_ENDPOINT_URL"] = s3_url
    processes = [moto]
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
        import boto3
        import django

        django.setup()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        directory = f"file://{work}/mirror"
        bucket = f"s3://{BUCKET}/status"

        if args.serving_only:
            from statuspage.mirror.publish import publish_mirror

            publish_mirror(targets=[directory])
        else:
            measure_publishing(args, directory, bucket, s3, work)
        serve_side_by_side(args, work, processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


def measure_publishing(args, directory: str, bucket: str, s3, work: Path) -> None:
    print(f"change to visible, {args.changes} changes per target (debounce 0.2 s):")
    for target, goal in [(directory, 2.0), (bucket, 5.0)]:
        timings, cpu = change_to_visible(target, args.changes, s3)
        p50, p99 = statistics.median(timings), percentile(timings, 0.99)
        print(
            f"  {target.split(':')[0]:5} p50 {p50:.2f} s  p99 {p99:.2f} s  max "
            f"{max(timings):.2f} s  (target < {goal:.0f} s: "
            f"{'met' if p99 < goal else 'NOT met'}); this process's CPU per change "
            f"(service call + publish) p50 {statistics.median(cpu):.2f} s; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )

    fresh = [f"file://{work}/mirror-sizes", f"s3://{BUCKET}/sizes"]
    print("publish sizes (files in the copy / written / bytes written / seconds):")
    for label, url, outcome in publish_sizes(fresh):
        r = outcome.result
        print(
            f"  {label:26} {url.split(':')[0]:5} {r.files:5} files  {r.written:5} written "
            f"{r.written_bytes:>11,} bytes  {outcome.seconds:.2f} s"
        )


def serve_side_by_side(args, work: Path, processes: list) -> None:
    app_port = free_port()
    gunicorn = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "statuspage.wsgi", "-w", "2"]
        + ["-b", f"127.0.0.1:{app_port}", "--log-level", "warning"],
        cwd=ROOT,
    )
    processes.append(gunicorn)
    nginx_port = free_port()
    server = (ROOT / "docs/nginx-mirror.conf").read_text()
    server = server.replace("listen 80;", f"listen 127.0.0.1:{nginx_port};")
    server = server.replace("/srv/statuspage-mirror/current", f"{work}/mirror/current")
    user = "user root;" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(
        f"{user} worker_processes 2; daemon off; pid {work}/nginx.pid;\n"
        f"error_log {work}/nginx-error.log;\n"
        "events { worker_connections 4096; }\n"
        "http { include /etc/nginx/mime.types; access_log off; sendfile on;\n"
        f"  keepalive_requests 100000;\n{server}\n}}\n"
    )
    nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)])
    processes.append(nginx)
    app_url = f"http://127.0.0.1:{app_port}/p/it/"
    mirror_url = f"http://127.0.0.1:{nginx_port}/p/it/"
    wait_for(app_url, timeout=180)  # a loaded machine boots gunicorn slowly
    wait_for(mirror_url)
    gz = "Accept-Encoding: gzip"
    run_wrk(app_url, 2, args.connections, gz)  # warm-up
    print(f"/p/it/ with gzip, wrk {args.connections} connections, {args.seconds} s each:")
    app = run_wrk(app_url, args.seconds, args.connections, gz)
    mirror = run_wrk(mirror_url, args.seconds, args.connections, gz)
    for name, r in [("app (gunicorn sync, 2)", app), ("mirror (nginx, 2)", mirror)]:
        print(
            f"  {name:24} {r['rps']:>10,.0f} req/s   p50 {r['p50']:>8}   p99 {r['p99']:>8}"
            f"   non-2xx {r['non2xx']}"
        )
    print(f"  ratio mirror / app: {mirror['rps'] / app['rps']:.1f}x")


if __name__ == "__main__":
    main()
