"""Live push to the customer view: each event goes to the websocket group of every customer
whose services it touches (`customer.<id>`), as a short "something changed" note; the page
then fetches its own sections over its signed-in session, so nothing a customer may not see
travels in the push."""

from __future__ import annotations

import asyncio
import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from incidents.events import DomainEvent
from incidents.models import Component, Customer, IncidentComponent

logger = logging.getLogger(__name__)

CUSTOMER_MESSAGE = "customer.changed"


def customer_group(customer_id: int) -> str:
    """The Channels group of one customer's open overviews (all its signed-in people)."""
    return f"customer.{customer_id}"


def _ids(values) -> set[int]:
    found = set()
    for value in values:
        try:
            found.add(int(value["id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return found


def customers_touched(event: DomainEvent) -> list[int]:
    """The customers that use a component the event touches (an incident's or maintenance's
    components; for one that touches none, every customer using a component of the page)."""
    data = event.data
    components = _ids(
        data.get("components") or ([data["component"]] if "component" in data else [])
    )
    incidents = _ids([data["incident"]] if isinstance(data.get("incident"), dict) else [])
    if incidents:
        linked = set(
            IncidentComponent.objects.filter(incident_id__in=incidents).values_list(
                "component_id", flat=True
            )
        )
        components |= linked
        if not linked:
            components |= set(
                Component.objects.filter(page_id=event.page_id).values_list("pk", flat=True)
            )
    if not components:
        return []
    through = Customer.components.through
    return sorted(
        set(
            through.objects.filter(component_id__in=components).values_list(
                "customer_id", flat=True
            )
        )
    )


def push_to_customers(event: DomainEvent) -> int:
    """Tell the touched customers' open overviews that something changed (after commit,
    bounded by LIVE_PUSH_TIMEOUT). Returns how many customer groups were told."""
    layer = get_channel_layer()
    if layer is None:
        return 0
    customers = customers_touched(event)
    if not customers:
        return 0
    text = json.dumps({"type": event.type, "page": event.page_slug, "version": event.version})

    async def send() -> None:
        for customer_id in customers:
            await layer.group_send(
                customer_group(customer_id), {"type": CUSTOMER_MESSAGE, "text": text}
            )

    async def bounded() -> None:
        await asyncio.wait_for(send(), timeout=settings.LIVE_PUSH_TIMEOUT)

    try:
        async_to_sync(bounded)()
    except Exception as exc:  # the overview also polls: a lost note costs a minute at most
        logger.warning("Customer push of %s failed: %r", event.type, exc)
    return len(customers)
