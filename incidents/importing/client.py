"""A reader for Statuspage's manage API v1 (or anything that speaks it, such as ours).

It keeps to the source's rate limit (Statuspage allows about one request a second), backs
off on 420 and 429 (honouring Retry-After), retries a dropped connection or a 5xx a few
times, and walks paginated lists until a short or repeated page.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

RATE_LIMITED = (420, 429)
USER_AGENT = "statuspage-importer/1"


class SourceError(Exception):
    """The source cannot be read (bad address or key, a persistent error): the import stops."""


class NotFound(SourceError):
    pass


class StatuspageClient:
    """GETs from `{api_url}/pages/{page_id}/...` with `Authorization: OAuth {api_key}`."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        min_interval: float = 1.0,
        retries: int = 6,
        timeout: float = 30.0,
        page_size: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.api_url = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"OAuth {api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        self.min_interval = min_interval
        self.retries = retries
        self.page_size = page_size
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock
        self._last: float | None = None
        self.requests = 0
        self.waited = 0.0  # seconds spent waiting for the rate limit or a back-off

    def _pace(self) -> None:
        if self._last is not None:
            wait = self.min_interval - (self.clock() - self._last)
            if wait > 0:
                self._wait(wait)
        self._last = self.clock()

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The decoded JSON of one GET, after pacing and retries; SourceError when it fails."""
        url = f"{self.api_url}/{path.lstrip('/')}"
        delay = max(self.min_interval, 1.0)
        for attempt in range(self.retries + 1):
            self._pace()
            self.requests += 1
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt == self.retries:
                    raise SourceError(f"Cannot reach {url}: {exc}") from exc
                self._wait(delay)
                delay *= 2
                continue
            if response.status_code in RATE_LIMITED or response.status_code >= 500:
                if attempt == self.retries:
                    raise SourceError(
                        f"{url} kept answering {response.status_code} after {self.retries} retries."
                    )
                self._wait(_retry_after(response) or delay)
                delay *= 2
                continue
            if response.status_code in (401, 403):
                raise SourceError(
                    f"{url} refused the API key ({response.status_code}): check --api-key and "
                    "that the key may read this page."
                )
            if response.status_code == 404:
                raise NotFound(f"{url} does not exist (404): check --api-url and --page-id.")
            if response.status_code != 200:
                raise SourceError(f"{url} answered {response.status_code}: {response.text[:200]}")
            try:
                return response.json()
            except ValueError as exc:
                raise SourceError(f"{url} did not answer JSON.") from exc
        raise AssertionError("unreachable")

    def page_path(self, page_id: str, resource: str = "") -> str:
        path = f"pages/{quote(page_id, safe='')}"
        return f"{path}/{resource}" if resource else path

    def paginate(
        self,
        path: str,
        *,
        first: int = 1,
        size: int | None = None,
        size_param: str = "per_page",
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict]:
        """Every object of a paginated list. Stops at a short page, or at a page that holds
        nothing new (a source that ignores the page parameter answers the same list again)."""
        size = size or self.page_size
        seen: set[str] = set()
        number = first
        while True:
            batch = self.get(path, {**(params or {}), "page": number, size_param: size})
            if not isinstance(batch, list):
                raise SourceError(f"{path} did not answer a list.")
            fresh = [item for item in batch if str(item.get("id")) not in seen]
            for item in fresh:
                seen.add(str(item.get("id")))
                yield item
            if len(batch) < size or not fresh:
                return
            number += 1


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
