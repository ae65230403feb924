"""Who may see what: the one place the rules for hidden and customer-only items live.

- A component is seen by everyone when it is shown (`is_visible`) and `visibility` is public;
  a customer-only component only by the customers it is assigned to; a hidden one by nobody.
- An incident (or maintenance) is public when it touches no component or at least one public
  component; the customer-only components in it stay hidden from everyone else. An incident
  that touches only customer-only components is seen by the customers of those components.

Every public channel (page, incident pages, history, feeds, v2 JSON, live push and live.json,
phone line, handout, badges, mails and webhooks, the static mirror) asks these functions.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Component, Customer, Incident, IncidentComponent, Visibility

PUBLIC_COMPONENT = Q(is_visible=True, visibility=Visibility.PUBLIC)


def public_components(queryset: QuerySet[Component] | None = None) -> QuerySet[Component]:
    return (Component.objects.all() if queryset is None else queryset).filter(PUBLIC_COMPONENT)


def components_visible_to(
    customer: Customer, queryset: QuerySet[Component] | None = None
) -> QuerySet[Component]:
    """The public components and the customer's own customer-only ones."""
    base = Component.objects.all() if queryset is None else queryset
    return base.filter(is_visible=True).filter(
        Q(visibility=Visibility.PUBLIC) | Q(pk__in=customer.components.values("pk"))
    )


def public_incidents(queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """Incidents anyone may see: those touching no component or at least one public one."""
    base = Incident.objects.all() if queryset is None else queryset
    affected = IncidentComponent.objects.filter(incident=OuterRef("pk"))
    return base.filter(
        ~Exists(affected)
        | Exists(affected.filter(component__is_visible=True, component__visibility="public"))
    )


def incidents_visible_to(
    customer: Customer, queryset: QuerySet[Incident] | None = None
) -> QuerySet[Incident]:
    """The public incidents and those touching one of the customer's customer-only components."""
    base = Incident.objects.all() if queryset is None else queryset
    affected = IncidentComponent.objects.filter(incident=OuterRef("pk"))
    own = affected.filter(
        component__is_visible=True, component__in=customer.components.values("pk")
    )
    return base.filter(
        ~Exists(affected)
        | Exists(affected.filter(component__is_visible=True, component__visibility="public"))
        | Exists(own)
    )
