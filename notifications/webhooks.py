"""Webhook subscribers: Statuspage's payloads, signed per Standard Webhooks, sent concurrently.

Payloads are exactly Statuspage's (`meta`, `page`, then `incident` or `component` +
`component_update`), so consumers written for Statuspage work unchanged; incidents and
components are shaped by the management API's serializers (ids are the public ids the APIs
show; a status change has its own, as Statuspage's `component_update.id`).
Each request carries `webhook-id` (the same on every retry of one delivery, so a consumer can
drop a repeat), `webhook-timestamp` and `webhook-signature` made with the `standardwebhooks`
library from the subscriber's `whsec_` secret.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from incidents import visibility
from incidents.events import COMPONENT_UPDATED
from incidents.models import Component, ComponentStatusChange, Customer, Page

from . import emails
from .ssrf import CheckedResolver, UnsafeURL, check_literal, split_http_url

DOCUMENTATION = "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/"
REDIRECT_CODES = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 3
USER_AGENT = "statuspage-webhooks/1"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def page_block(page: Page) -> dict:
    """`page` as Statuspage sends it: id, indicator and its description, from the public
    snapshot (what the public sees, hidden components excluded)."""
    from incidents.api.public import INDICATOR_DESCRIPTIONS
    from incidents.snapshot import page_snapshot

    indicator = page_snapshot(page).indicator
    return {
        "id": page.slug,
        "status_indicator": indicator,
        "status_description": INDICATOR_DESCRIPTIONS[indicator],
    }


def incident_block(page: Page, incident_id: int) -> dict | None:
    from incidents.api.serializers import IncidentSerializer
    from incidents.api.views import incidents_of

    incident = incidents_of(page).filter(pk=incident_id).first()
    if incident is None:
        return None
    data = IncidentSerializer(incident, context={"page": page}).data
    data = json.loads(json.dumps(data))  # plain dicts and strings, as they go out
    data["shortlink"] = emails.page_url(page, f"incidents/{incident.pk}/")
    return data  # incident_updates newest first, as the API lists them


def shown_to(page: Page, customer_id: int | None) -> set[str]:
    """The public ids of the page's components a reader sees: the public ones, and for a
    customer's subscriber its customer-only ones too (`incidents.visibility`; 1 query)."""
    components = Component.objects.filter(page=page)
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    found = (
        visibility.components_visible_to(customer, components)
        if customer is not None
        else visibility.public_components(components)
    )
    return set(found.values_list("public_id", flat=True))


def _only_shown(incident: dict, shown: set[str]) -> dict:
    """The incident without the components its reader may not see (nor their status changes)."""
    updates = [
        {
            **update,
            "affected_components": [
                a for a in update.get("affected_components") or [] if a.get("code") in shown
            ],
        }
        for update in incident.get("incident_updates") or []
    ]
    components = [c for c in incident.get("components") or [] if c.get("id") in shown]
    return {**incident, "components": components, "incident_updates": updates}


def component_blocks(page: Page, change_id: int, customer_id: int | None = None) -> dict | None:
    from incidents.api.serializers import ComponentSerializer

    change = (
        ComponentStatusChange.objects.select_related("component__group")
        .filter(pk=change_id, component__page=page)
        .first()
    )
    if change is None or not change.component.is_visible:
        return None
    if not change.component.is_public and not (
        customer_id and change.component.customers.filter(pk=customer_id).exists()
    ):
        return None
    component = json.loads(
        json.dumps(ComponentSerializer(change.component, context={"page": page}).data)
    )
    return {
        "component_update": {
            "created_at": _iso(change.changed_at),
            "new_status": change.new_status,
            "old_status": change.old_status,
            "id": change.public_id,
            "component_id": component["id"],
        },
        "component": {
            "created_at": component["created_at"],
            "id": component["id"],
            "name": component["name"],
            "status": change.new_status,
        },
    }


@dataclass
class Payload:
    """The body of one notification, to which each delivery adds its own `meta`."""

    page: dict
    body: dict

    def for_subscriber(self, unsubscribe: str, generated_at: str) -> bytes:
        document = {
            "meta": {
                "unsubscribe": unsubscribe,
                "documentation": DOCUMENTATION,
                "generated_at": generated_at,
            },
            "page": self.page,
            **self.body,
        }
        return json.dumps(document, separators=(",", ":")).encode()


def build_payload(notification, customer_id: int | None = None) -> Payload | None:
    """The Statuspage body for a notification as the public (or one customer's subscribers)
    may see it: components they may not see are left out (None: nothing to say to them)."""
    page = notification.page
    if notification.event_type == COMPONENT_UPDATED:
        body = component_blocks(page, notification.data.get("change_id"), customer_id)
    else:
        incident_id = (notification.data.get("incident") or {}).get("id")
        incident = incident_block(page, incident_id) if incident_id else None
        if incident is not None:
            incident = _only_shown(incident, shown_to(page, customer_id))
        body = {"incident": incident} if incident else None
    if body is None:
        return None
    return Payload(page=page_block(page), body=body)


def sign(secret: str, message_id: str, timestamp: dt.datetime, body: bytes) -> str:
    return Webhook(secret).sign(message_id, timestamp, body.decode())


@dataclass
class Outcome:
    """How one POST ended: ok, or an error (permanent: no retry will help; `blame`: the
    failure counts against the endpoint, towards disabling it)."""

    ok: bool
    error: str = ""
    permanent: bool = False
    blame: bool = True
    status: int | None = None
    duration: float = 0.0


async def post_signed(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> Outcome:
    """POST to a subscriber's URL; the session's resolver refuses private addresses, every
    redirect is followed by hand and checked again; a 2xx within `WEBHOOK_TIMEOUT_SECONDS`
    counts."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.WEBHOOK_TIMEOUT_SECONDS):
            for _hop in range(MAX_REDIRECTS + 1):
                _scheme, host, _port = split_http_url(url)
                check_literal(host)
                async with session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    await response.read()
                    status = response.status
                    location = response.headers.get("Location")
                if status in REDIRECT_CODES and location:
                    url = urljoin(url, location)
                    continue
                duration = time.monotonic() - started
                if 200 <= status < 300:
                    return Outcome(True, status=status, duration=duration)
                return Outcome(
                    False,
                    f"HTTP {status}",
                    permanent=status == 410,  # Gone: the consumer says stop
                    status=status,
                    duration=duration,
                )
            return Outcome(False, "too many redirects", permanent=True)
    except UnsafeURL as exc:
        return Outcome(False, f"refused: {exc}", permanent=True)
    except TimeoutError:
        return Outcome(False, f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s")
    except (aiohttp.ClientError, OSError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:500])


async def post_many(jobs: list[tuple[str, bytes, dict[str, str]]]) -> list[Outcome]:
    """Send many signed POSTs at once (bounded concurrency); outcomes in the jobs' order."""
    limit = asyncio.Semaphore(settings.WEBHOOK_CONCURRENCY)
    connector = aiohttp.TCPConnector(
        limit=settings.WEBHOOK_CONCURRENCY, resolver=CheckedResolver(), ttl_dns_cache=10
    )
    async with aiohttp.ClientSession(
        connector=connector, trust_env=False, headers={"User-Agent": USER_AGENT}
    ) as session:

        async def one(job):
            async with limit:
                return await post_signed(session, *job)

        return await asyncio.gather(*(one(job) for job in jobs))


def headers_for(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(secret, message_id, now, body),
    }
