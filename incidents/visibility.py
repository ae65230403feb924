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

from collections.abc import Iterable

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


def _public_incident() -> Q:
    """An incident touching no component, or at least one public one."""
    affected = IncidentComponent.objects.filter(incident=OuterRef("pk"))
    return ~Exists(affected) | Exists(
        affected.filter(component__is_visible=True, component__visibility=Visibility.PUBLIC)
    )


def public_incidents(queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """Incidents anyone may see: those touching no component or at least one public one."""
    base = Incident.objects.all() if queryset is None else queryset
    return base.filter(_public_incident())


def incidents_visible_to(
    customer: Customer, queryset: QuerySet[Incident] | None = None
) -> QuerySet[Incident]:
    """The public incidents and those touching one of the customer's customer-only components."""
    base = Incident.objects.all() if queryset is None else queryset
    own = IncidentComponent.objects.filter(
        incident=OuterRef("pk"),
        component__is_visible=True,
        component__in=customer.components.values("pk"),
    )
    return base.filter(_public_incident() | Exists(own))


def touches_public(component_ids: Iterable[int]) -> bool:
    """Whether an item touching these components is public: none, or one public (1 query)."""
    ids = list(component_ids)
    return not ids or public_components(Component.objects.filter(pk__in=ids)).exists()


def customers_seeing(component_ids: Iterable[int]) -> frozenset[int] | None:
    """Who may see an item (an incident, a status change) touching these components: None when
    everyone may (`touches_public`), else the ids of the customers assigned one of its shown
    customer-only components (possibly none: then nobody outside the team). 1 or 2 queries."""
    ids = list(component_ids)
    if touches_public(ids):
        return None
    through = Customer.components.through
    return frozenset(
        through.objects.filter(component_id__in=ids, component__is_visible=True).values_list(
            "customer_id", flat=True
        )
    )


def incident_audience(incident_id: int) -> frozenset[int] | None:
    """`customers_seeing` for an incident by the components it touches now (1 query for a
    public one, 2 for a customer-only one)."""
    if public_incidents(Incident.objects.filter(pk=incident_id)).exists():
        return None
    touched = IncidentComponent.objects.filter(incident_id=incident_id).values("component_id")
    return frozenset(
        Customer.components.through.objects.filter(
            component_id__in=touched, component__is_visible=True
        ).values_list("customer_id", flat=True)
    )
