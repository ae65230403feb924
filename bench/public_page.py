"""Benchmark: public status page HTML requests per second, against nginx serving the same bytes.

    .venv/bin/python bench/public_page.py [--seconds 10] [--connections 64] [--workers 2]
        [--redis-url redis://127.0.0.1:6379/0]

Loads the demo data into a throw-away SQLite database (or uses DATABASE_URL), starts gunicorn
(sync workers, the production WSGI layout), uvicorn (the ASGI app, whose fast path answers a
kept rendering before Django's handler) and nginx serving the page's HTML as a file
(`gzip_static`: the static mirror's way), and drives each with wrk on loopback. Prints the
page's weight, requests/s and latency for each and the ratios. The fast path needs a shared
cache: Redis from `--redis-url` (default: REDIS_URL, else REDIS_URL_FOR_TESTS); without one it
is off and the figures are the ordinary path's. Needs Debian's `wrk` and `nginx-light`;
installs them with apt-get when missing (root).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The ceiling of each Python server: the page's bytes (gzip when asked) from a bare app.
BARE_APP = """
import os
from pathlib import Path

folder = Path(os.environ["BARE_DIR"])
PLAIN, PACKED = (folder / "index.html").read_bytes(), (folder / "index.html.gz").read_bytes()


def pick(accept):
    if "gzip" in accept:
        return PACKED, [("Content-Encoding", "gzip")]
    return PLAIN, []


def wsgi(environ, start_response):
    body, extra = pick(environ.get("HTTP_ACCEPT_ENCODING", ""))
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body))), *extra])
    return [body]


async def asgi(scope, receive, send):
    accept = dict(scope["headers"]).get(b"accept-encoding", b"").decode()
    body, extra = pick(accept)
    headers = [(b"content-type", b"text/html; charset=utf-8"),
               (b"content-length", str(len(body)).encode()),
               *[(k.lower().encode(), v.encode()) for k, v in extra]]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
"""


def ensure_tools() -> None:
    missing = [
        pkg
        for cmd, pkg in [("wrk", "wrk"), ("nginx", "nginx-light")]
        if not shutil.which(cmd) and not Path(f"/usr/sbin/{cmd}").exists()
    ]
    if missing:
        print(f"installing {', '.join(missing)} with apt-get ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *missing],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def wait_for(url: str, timeout: float = 30) -> bytes:
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def run_wrk(url: str, seconds: int, connections: int, *headers: str) -> dict:
    extra = [arg for header in headers for arg in ("-H", header)]
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or os.environ.get("REDIS_URL_FOR_TESTS", ""),
    )
    parser.add_argument("--app-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--asgi-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--bare-port", type=int, default=0, help="and the next; default: free")
    parser.add_argument("--nginx-port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    ensure_tools()
    work = Path(tempfile.mkdtemp(prefix="bench-page-"))
    work.chmod(0o755)  # nginx's workers run as another user and must read the page
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{work}/bench.sqlite3"),
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": args.redis_url,
        "PUBLIC_FAST_PATH": "1" if args.redis_url else "0",
        "LAST_GOOD_DIR": str(work / "last-good"),
    }
    manage = [PYTHON, "manage.py"]
    for command in (["migrate", "--noinput"], ["load_demo"], ["collectstatic", "--noinput"]):
        subprocess.run(manage + command, cwd=ROOT, env=env, check=True, capture_output=True)

    app_port, nginx_port = args.app_port or free_port(), args.nginx_port or free_port()
    asgi_port = args.asgi_port or free_port()
    bare_ports = (
        args.bare_port or free_port(),
        args.bare_port + 1 if args.bare_port else free_port(),
    )
    bare: list[subprocess.Popen] = []
    gunicorn = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "statuspage.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{app_port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    uvicorn = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "statuspage.asgi:application",
            "--workers",
            str(args.workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(asgi_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    nginx = None
    try:
        app_url = f"http://127.0.0.1:{app_port}/"
        asgi_url = f"http://127.0.0.1:{asgi_port}/"
        html = wait_for(app_url)
        wait_for(asgi_url)
        (work / "www").mkdir()
        (work / "www" / "index.html").write_bytes(html)
        (work / "www" / "index.html.gz").write_bytes(gzip.compress(html, compresslevel=6))
        conf = work / "nginx.conf"
        conf.write_text(
            f"worker_processes {args.workers}; daemon off; pid {work}/nginx.pid;\n"
            f"error_log {work}/nginx-error.log;\n"
            "events { worker_connections 4096; }\n"
            "http { access_log off; sendfile on; keepalive_requests 100000; gzip_static on;\n"
            f"  server {{ listen 127.0.0.1:{nginx_port}; root {work}/www;\n"
            "    location / { default_type text/html; index index.html; } } }\n"
        )
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)])
        # What each Python server can do at all: the same bytes from a bare app, no Django.
        (work / "bare.py").write_text(BARE_APP)
        bare = [
            subprocess.Popen(command, cwd=work, env={**env, "BARE_DIR": str(work / "www")})
            for command in (
                [
                    PYTHON,
                    "-m",
                    "gunicorn",
                    "bare:wsgi",
                    "-w",
                    str(args.workers),
                    "-b",
                    f"127.0.0.1:{bare_ports[0]}",
                    "--log-level",
                    "warning",
                ],
                [
                    PYTHON,
                    "-m",
                    "uvicorn",
                    "bare:asgi",
                    "--workers",
                    str(args.workers),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(bare_ports[1]),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
            )
        ]
        nginx_url = f"http://127.0.0.1:{nginx_port}/"
        wait_for(nginx_url)
        bare_wsgi = f"http://127.0.0.1:{bare_ports[0]}/"
        bare_asgi = f"http://127.0.0.1:{bare_ports[1]}/"
        wait_for(bare_wsgi)
        wait_for(bare_asgi)
        packed = gzip.compress(html, compresslevel=6)
        stops, sliders = html.count(b'tabindex="0"'), html.count(b'role="slider"')
        fast = f"on (Redis {args.redis_url})" if args.redis_url else "OFF (no Redis)"
        print(
            f"page: {len(html):,} bytes of HTML ({len(packed):,} gzipped), {stops} tab stops "
            f"in the uptime history for {sliders} components; fast path {fast}",
            flush=True,
        )
        print(
            f"wrk: {args.connections} connections, {args.seconds}s each; "
            f"{args.workers} worker processes each",
            flush=True,
        )
        for url in (app_url, asgi_url):  # warm-up: snapshot, rendering and fast path kept
            run_wrk(url, 2, args.connections)
            run_wrk(url, 2, args.connections, "Accept-Encoding: gzip")
        gz = "Accept-Encoding: gzip"
        seconds, connections = args.seconds, args.connections
        rows = [
            ("django (gunicorn sync)", run_wrk(app_url, seconds, connections)),
            ("django (uvicorn asgi)", run_wrk(asgi_url, seconds, connections)),
            ("nginx, same file", run_wrk(nginx_url, seconds, connections)),
            ("django, gzip", run_wrk(app_url, seconds, connections, gz)),
            ("django asgi, gzip", run_wrk(asgi_url, seconds, connections, gz)),
            ("nginx, gzip_static", run_wrk(nginx_url, seconds, connections, gz)),
            ("bare gunicorn, gzip", run_wrk(bare_wsgi, seconds, connections, gz)),
            ("bare uvicorn, gzip", run_wrk(bare_asgi, seconds, connections, gz)),
        ]
        for name, r in rows:
            print(
                f"{name:24} {r['rps']:>10,.0f} req/s   p50 {r['p50']:>8}   p99 {r['p99']:>8}"
                f"   non-2xx {r['non2xx']}"
            )
        results = dict(rows)
        # The first two lines as before issue 18 (gunicorn), so runs stay comparable.
        for label, ours, ceiling in [
            ("django / nginx (plain)", "django (gunicorn sync)", "nginx, same file"),
            ("django / nginx (gzip)", "django, gzip", "nginx, gzip_static"),
            ("django asgi / nginx (plain)", "django (uvicorn asgi)", "nginx, same file"),
            ("django asgi / nginx (gzip)", "django asgi, gzip", "nginx, gzip_static"),
            # What limits the two: each server answering the same bytes with no Django.
            ("django / bare gunicorn (gzip)", "django, gzip", "bare gunicorn, gzip"),
            ("django asgi / bare uvicorn (gzip)", "django asgi, gzip", "bare uvicorn, gzip"),
            ("bare gunicorn / nginx (gzip)", "bare gunicorn, gzip", "nginx, gzip_static"),
            ("bare uvicorn / nginx (gzip)", "bare uvicorn, gzip", "nginx, gzip_static"),
        ]:
            ratio = results[ours]["rps"] / results[ceiling]["rps"]
            target = (
                " (target >= 0.15)"
                if label.endswith("nginx (gzip)") and "bare" not in label
                else ""
            )
            print(f"ratio {label}: {ratio:.3f}{target}")
    finally:
        gunicorn.terminate()
        uvicorn.terminate()
        if nginx:
            nginx.terminate()
        for process in bare:
            process.terminate()
            process.wait(10)
        gunicorn.wait(10)
        uvicorn.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
