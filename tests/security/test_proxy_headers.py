"""Finding 8 (part): uvicorn trusts `X-Forwarded-For` from a local peer by default
(`--forwarded-allow-ips` defaults to 127.0.0.1), so behind a local proxy — or from the machine
itself — anyone could pick the address the rate limits count. The README's production command
must hand uvicorn the same proxies the application trusts (`TRUSTED_PROXIES`)."""

from __future__ import annotations

import http.cookiejar
import re
import shlex
import urllib.parse
import urllib.request

import pytest

from tests.fault_helpers import ROOT

from .conftest import uvicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def readme_uvicorn_flags(trusted_proxies: str) -> list[str]:
    """The flags of the README's websocket command, `$TRUSTED_PROXIES` expanded, without the
    host and port (the test passes its own socket)."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"`(uvicorn statuspage\.asgi:application [^`]+)`", readme).group(1)
    words = shlex.split(command.replace("$TRUSTED_PROXIES", trusted_proxies))[2:]
    flags = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--host", "--port"):
            skip = True
        else:
            flags.append(word)
    return flags


def subscribe(base: str, n: int, forwarded: str) -> int:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/p/it/subscribe/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "email": f"u{n}@example.com", "language": "en"}
    ).encode()
    request = urllib.request.Request(
        f"{base}/p/it/subscribe/", data=body, headers={"X-Forwarded-For": forwarded}
    )
    try:
        return opener.open(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_documented_uvicorn_command_ignores_forwarded_for_from_an_untrusted_peer(
    it_page, tmp_path
):
    env = {
        "NOTIFICATIONS_SUBSCRIBE_RATE_IP": "1",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "TRUSTED_PROXIES": "",
        "FORWARDED_ALLOW_IPS": None,
    }
    flags = readme_uvicorn_flags("")  # no proxy in front of this test
    server = uvicorn(tmp_path, env, flags)
    try:
        # This test is the local peer; the header is its own invention, not a proxy's.
        assert subscribe(server.url, 1, "198.51.100.1") == 200
        assert subscribe(server.url, 2, "198.51.100.2") == 429
    finally:
        server.close()
