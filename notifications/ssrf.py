"""Outbound URLs that subscribers give us must not reach our own network (SSRF).

A host is checked after DNS resolution (every address it resolves to, so a name that points at
127.0.0.1 or 169.254.169.254 is refused), the connection then goes to the address that was
checked (no second lookup a rebinding DNS server could answer differently), and every redirect
is checked again. `WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1` lifts the check, for tests and for
deployments whose subscribers are on the internal network; `WEBHOOK_ALLOWED_NETWORKS` opens
only the networks named (for example one subnet of internal consumers).

Webhooks connect through aiohttp with `CheckedResolver`. Chat messages go through Apprise,
whose plugins open their own connections (requests, smtplib...): `checked_connections()` makes
every name resolved in its block (in this thread) pass the same check, so the address a plugin
connects to is the address that was checked, whatever the DNS server answers by then.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver
from django.conf import settings
from django.utils.translation import gettext as _


class UnsafeURL(Exception):
    """A URL we refuse to send to; the message says why, for the person who gave it."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _allowed_network(address: IPAddress) -> bool:
    """Private networks an installation lets subscribers reach (`WEBHOOK_ALLOWED_NETWORKS`)."""
    for network in getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", ()):
        if address in ipaddress.ip_network(network, strict=False):
            return True
    return False


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False))


def split_http_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or UnsafeURL with a reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(_("This is not a valid URL.")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL(_("Use an http:// or https:// URL with a host name."))
    if parts.username or parts.password:
        raise UnsafeURL(_("Leave user names and passwords out of the URL."))
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _checked(host: str, infos: list) -> list[str]:
    addresses = []
    for info in infos:
        text = info[4][0].split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if not (_allow_private() or is_public(address) or _allowed_network(address)):
            raise UnsafeURL(
                _("%(host)s resolves to %(address)s, a private or local address: refused.")
                % {"host": host, "address": text}
            )
        addresses.append(text)
    if not addresses:
        raise UnsafeURL(_("%(host)s does not resolve.") % {"host": host})
    return addresses


def resolve_public(host: str, port: int) -> list[str]:
    """The addresses of `host`, all checked; raises UnsafeURL (also when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeURL(_("%(host)s does not resolve.") % {"host": host}) from exc
    return _checked(host, infos)


def check_literal(host: str) -> None:
    """An IP address written in the URL (resolvers never see those): checked here."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return  # a name: the resolver checks what it resolves to
    _checked(host, [(None, None, None, None, (str(address),))])


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver, refusing names that resolve to private or local addresses.

    The connection then goes to exactly the addresses checked here (no second lookup that a
    rebinding DNS server could answer differently); redirects resolve through it again.
    """

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list:
        results = await self._inner.resolve(host, port, family)
        _checked(host, [(None, None, None, None, (r["host"],)) for r in results])
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_url(url: str) -> str:
    """Validate a webhook URL as given (scheme, host, every resolved address); returns it."""
    _scheme, host, port = split_http_url(url)
    resolve_public(host, port)
    return url


def check_host(host: str | None, port: int | None = None) -> None:
    """For URLs that are not http(s) (an Apprise URL to a self-hosted server): its host."""
    if host:
        resolve_public(host, port or 443)


# --- Connections opened by libraries we do not drive (Apprise's plugins) --------------------
class RefusedAddress(socket.gaierror):
    """What a resolution inside `checked_connections()` raises for a private address: an
    OSError, so the library reports a failed connection as it would for a dead host."""


_checking: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "ssrf_checking", default=None
)
# The system's resolver, below the check (tests replace it to play a rebinding DNS server).
_system_getaddrinfo = socket.getaddrinfo
_install_lock = threading.Lock()


def _checking_getaddrinfo(host, port, *args, **kwargs):
    infos = _system_getaddrinfo(host, port, *args, **kwargs)
    refusals = _checking.get()
    if refusals is not None:
        try:
            _checked(str(host), infos)
        except UnsafeURL as exc:
            refusals.append(str(exc))
            raise RefusedAddress(socket.EAI_NONAME, str(exc)) from exc
    return infos


def _install() -> None:
    with _install_lock:
        if socket.getaddrinfo is not _checking_getaddrinfo:
            socket.getaddrinfo = _checking_getaddrinfo


@contextlib.contextmanager
def checked_connections() -> Iterator[list[str]]:
    """Within the block, every name this thread (or a thread Apprise starts with its context)
    resolves is checked like a webhook's host, at the moment of connecting: the connection
    goes to the addresses just checked, so a DNS answer that changed since the URL was
    validated (rebinding) reaches nothing of ours. Yields the list of refusals made.
    Outside such a block resolution is untouched."""
    _install()
    refusals: list[str] = []
    token = _checking.set(refusals)
    try:
        yield refusals
    finally:
        _checking.reset(token)
