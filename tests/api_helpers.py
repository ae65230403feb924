"""A small JSON client for the management API, used by the API test modules."""

from __future__ import annotations

import json

from django.test import Client

from incidents.api.authentication import create_api_key


class Api:
    """Talks to /api/v1/ with one key: `api.get("pages")`, `api.post(path, body)`."""

    def __init__(self, raw_key: str, scheme: str = "OAuth"):
        # Like curl or Statuspage's client: no CSRF cookie, so CSRF checks must not apply.
        self.client = Client(enforce_csrf_checks=True)
        self.headers = {"Authorization": f"{scheme} {raw_key}"}

    def request(self, method: str, path: str, body=None, headers=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = {"content_type": "application/json"} if data is not None else {}
        return getattr(self.client, method)(
            f"/api/v1/{path}", data=data, headers={**self.headers, **(headers or {})}, **kwargs
        )

    def get(self, path, **kw):
        return self.request("get", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("post", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("patch", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("put", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("delete", path, **kw)


def make_api(name: str = "tests", **options) -> tuple[Api, object]:
    key, raw = create_api_key(name, **options)
    return Api(raw), key
