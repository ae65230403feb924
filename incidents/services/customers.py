"""Writes to customers as the management API's audiences (Statuspage's page access groups and
users): a group is a customer, its components the services it uses; a user is an invited
address of that customer, who can then sign in.

Assigning components to a customer never changes their visibility: a public component stays
public (the customer simply uses it); only `Component.visibility` makes one customer-only. A
group belongs to the page whose API made it (`Customer.page`); through one page's API only that
page's components of the customer are listed and changed, its services on other pages are kept.
Each function is one intent: one transaction, one audit row, one `customer.updated` event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from incidents import events, validators
from incidents.models import Component, Customer, CustomerDomain, CustomerMember, Page
from incidents.models.customers import customer_code

from .audit import intent, note
from .base import ServiceError, publish_event


def customer_for_address(email: str) -> tuple[Customer | None, CustomerMember | None]:
    """Who an address belongs to: an invited (or signed-in) person and their customer, else the
    customer owning its mail domain with no person (2 queries at most)."""
    email = (email or "").strip().lower()
    member = CustomerMember.objects.select_related("customer").filter(email=email).first()
    if member is not None:
        return member.customer, member
    domain = email.rpartition("@")[2]
    found = CustomerDomain.objects.select_related("customer").filter(domain=domain).first()
    return (found.customer if found else None), None


def _event(page: Page, customer: Customer, **extra: Any) -> None:
    publish_event(
        page,
        events.CUSTOMER_UPDATED,
        {"customer": {"id": customer.pk, "public_id": customer.public_id, **extra}},
    )


def _clean_code(code: str, *, name: str, exclude: int | None = None) -> str:
    """The code as given (checked), or one made from the name that no customer has yet."""
    code = (code or "").strip().lower()
    taken = Customer.objects.exclude(pk=exclude) if exclude else Customer.objects.all()
    if code:
        try:
            customer_code(code)
        except ValidationError:
            raise ServiceError(
                _("Use 1 to 40 lowercase letters, digits and hyphens, like acme or acme-utrecht."),
                field="external_identifier",
            ) from None
        if taken.filter(code=code).exists():
            raise ServiceError(
                _("Another customer has the code “%(code)s”.") % {"code": code},
                code="duplicate",
                field="external_identifier",
            )
        return code
    base = slugify(name)[:34].strip("-") or "customer"
    candidate, n = base, 1
    while taken.filter(code=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _page_components(page: Page, components: Iterable[Component]) -> list[Component]:
    chosen = list(components)
    if any(c.page_id != page.pk for c in chosen):
        raise ServiceError(
            _("Choose components of this page only."), code="unknown_component", field="components"
        )
    return chosen


@intent("create_page_access_group")
@transaction.atomic
def create_access_group(
    page: Page,
    *,
    actor: Any,
    name: str,
    code: str = "",
    components: Iterable[Component] = (),
) -> Customer:
    """A new customer whose home page is `page`, using these components of the page."""
    name = validators.one_line_text(name, field="name", label=_("A name"), limit=120)
    chosen = _page_components(page, components)
    customer = Customer.objects.create(page=page, name=name, code=_clean_code(code, name=name))
    customer.components.set(chosen)
    note("components", sorted(c.public_id for c in chosen))
    _event(page, customer)
    return customer


@intent("change_page_access_group")
@transaction.atomic
def change_access_group(
    customer: Customer,
    *,
    page: Page,
    actor: Any,
    name: str | None = None,
    code: str | None = None,
    components: Iterable[Component] | None = None,
    add: Iterable[Component] = (),
    remove: Iterable[Component] = (),
) -> Customer:
    """Rename a customer, change its code, or change which of `page`'s components it uses:
    `components` replaces them (its components on other pages stay), `add` and `remove` add
    and take away some."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    fields = []
    if name is not None:
        customer.name = validators.one_line_text(name, field="name", label=_("A name"), limit=120)
        fields.append("name")
    if code is not None and code.strip().lower() != customer.code:
        customer.code = _clean_code(code, name=customer.name, exclude=customer.pk)
        fields.append("code")
    if fields:
        customer.save(update_fields=[*fields, "updated_at"])
    on_page = customer.components.filter(page=page)
    if components is not None:
        chosen = _page_components(page, components)
        customer.components.remove(*on_page.exclude(pk__in=[c.pk for c in chosen]))
        customer.components.add(*chosen)
    customer.components.add(*_page_components(page, add))
    customer.components.remove(*_page_components(page, remove))
    if components is not None or add or remove:
        note("components", sorted(customer.components.values_list("public_id", flat=True)))
    _event(page, customer)
    return customer


@intent("delete_page_access_group")
@transaction.atomic
def delete_access_group(customer: Customer, *, page: Page, actor: Any) -> None:
    """Remove a customer with its people (their sign-in stops at once) and mail domains; its
    subscribers stay, as the public's."""
    get_user_model().objects.filter(customer_member__customer=customer).update(is_active=False)
    data = {"id": customer.pk, "public_id": customer.public_id}
    customer.delete()
    publish_event(page, events.CUSTOMER_UPDATED, {"customer": {**data, "deleted": True}})


def _clean_email(email: str, *, exclude: int | None = None) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            _("“%(email)s” is not a valid email address, for example name@example.com.")
            % {"email": email[:80]},
            field="email",
        ) from None
    taken = CustomerMember.objects.filter(email=email)
    if exclude:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ServiceError(
            _("This address is already a person of a customer."), code="duplicate", field="email"
        )
    return email


@intent("create_page_access_user")
@transaction.atomic
def create_access_user(page: Page, *, actor: Any, email: str, customer: Customer) -> CustomerMember:
    """Invite an address as one of a customer's people (it may then sign in)."""
    member = CustomerMember.objects.create(
        customer=customer, email=_clean_email(email), invited=True
    )
    _event(page, customer, member=member.public_id)
    return member


@intent("change_page_access_user")
@transaction.atomic
def change_access_user(
    member: CustomerMember,
    *,
    page: Page,
    actor: Any,
    email: str | None = None,
    customer: Customer | None = None,
) -> CustomerMember:
    """Change an invited address or move it to another customer; a signed-in session of the
    person ends (its user is switched off: the next sign-in makes it anew)."""
    member = CustomerMember.objects.select_for_update().get(pk=member.pk)
    fields = []
    if email is not None and email.strip().lower() != member.email:
        member.email = _clean_email(email, exclude=member.pk)
        fields.append("email")
    if customer is not None and customer.pk != member.customer_id:
        member.customer = customer
        fields.append("customer")
    if fields:
        if member.user_id:
            get_user_model().objects.filter(pk=member.user_id).update(is_active=False)
            member.user = None
            fields.append("user")
        member.save(update_fields=fields)
    _event(page, member.customer, member=member.public_id)
    return member


@intent("delete_page_access_user")
@transaction.atomic
def delete_access_user(member: CustomerMember, *, page: Page, actor: Any) -> None:
    """Remove one of a customer's people; their sign-in stops at once."""
    if member.user_id:
        get_user_model().objects.filter(pk=member.user_id).update(is_active=False)
    customer = member.customer
    data = member.public_id
    member.delete()
    _event(page, customer, member=data, deleted=True)
