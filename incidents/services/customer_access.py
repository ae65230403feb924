"""Writes for customers and their access: the admin's save, the passwordless sign-in (a
one-time link by email, django-sesame), and the read-only wall link.

Every intent is one audited call. The sign-in link is asked for by anyone: the answer (and the
time it takes to reach it) never says whether an address is known; only a known one gets mail.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.models import Component, Customer, CustomerDomain, CustomerMember
from incidents.models.customers import domain_name
from incidents.models.pages import request_site_url, site_url

from ..ratelimit import take_attempt
from . import audit
from .audit import Actor, ActorType, Channel, intent
from .base import ServiceError
from .customers import customer_for_address
from .reports import hash_ip

SIGN_IN_SCOPE = "customer-sign-in"
WALL_TOKEN_BYTES = 32
CUSTOMER_FIELDS = ("code", "name", "contract", "outage_phone", "page")


def member_actor(member: CustomerMember) -> Actor:
    """A customer's person acting for themselves, named by public id (no address in the log)."""
    return Actor(ActorType.VISITOR, f"customer person {member.public_id}", Channel.PUBLIC)


# --- The admin's writes ----------------------------------------------------------------------


def _clean_domains(domains: Iterable[str]) -> list[str]:
    cleaned = []
    for raw in domains:
        domain = (raw or "").strip().lower().lstrip("@").rstrip(".")
        if not domain:
            continue
        try:
            domain_name(domain)
        except ValidationError:
            raise ServiceError(
                _("“%(domain)s” is not a mail domain like example.com.") % {"domain": domain},
                field="domains",
            ) from None
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def _clean_emails(emails: Iterable[str]) -> list[str]:
    cleaned = []
    for raw in emails:
        email = (raw or "").strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            raise ServiceError(
                _("“%(email)s” is not an email address.") % {"email": email}, field="members"
            ) from None
        if email not in cleaned:
            cleaned.append(email)
    return cleaned


@intent("save_customer")
def save_customer(
    customer: Customer,
    *,
    actor: Any,
    components: Iterable[Component],
    domains: Iterable[str],
    members: Iterable[str],
) -> Customer:
    """Create or change a customer with its services, mail domains and people in one write
    (the admin's form and inlines). `members` are the addresses to keep: new ones are invited,
    people not listed are removed (their user is switched off, so an open session sees nothing
    any more). A domain or an address another customer holds is refused."""
    domains = _clean_domains(domains)
    emails = _clean_emails(members)
    taken = CustomerDomain.objects.filter(domain__in=domains)
    taken_by_member = CustomerMember.objects.filter(email__in=emails)
    if customer.pk:
        taken = taken.exclude(customer=customer)
        taken_by_member = taken_by_member.exclude(customer=customer)
    if taken.exists():
        raise ServiceError(
            _("The mail domain %(domain)s belongs to another customer.")
            % {"domain": taken.first()},
            field="domains",
        )
    if taken_by_member.exists():
        raise ServiceError(
            _("%(email)s is a person of another customer.") % {"email": taken_by_member.first()},
            field="members",
        )
    if customer.contract != "extended_16x7" and customer.outage_phone:
        raise ServiceError(
            _("Only a 16x7 contract has an after-hours outage number; clear it or pick 16x7."),
            field="outage_phone",
        )
    if customer.pk is None:
        customer.save()
    else:
        Customer.objects.filter(pk=customer.pk).update(
            updated_at=timezone.now(), **{f: getattr(customer, f) for f in CUSTOMER_FIELDS}
        )
    components = list(components)
    customer.components.set(components)
    CustomerDomain.objects.filter(customer=customer).exclude(domain__in=domains).delete()
    for domain in domains:
        CustomerDomain.objects.get_or_create(customer=customer, domain=domain)
    gone = CustomerMember.objects.filter(customer=customer).exclude(email__in=emails)
    get_user_model().objects.filter(customer_member__in=gone).update(is_active=False)
    gone.delete()
    for email in emails:
        CustomerMember.objects.get_or_create(
            email=email, defaults={"customer": customer, "invited": True}
        )
    audit.note("components", sorted(c.public_id for c in components))
    audit.note("domains", domains)
    audit.note("invited", len(emails))
    return customer


@intent("delete_customer")
@transaction.atomic
def delete_customer(customer: Customer, *, actor: Any) -> Customer:
    """Remove a customer with its domains and people; their users are switched off (an open
    session sees nothing any more). Its problem reports stay, no longer attached."""
    get_user_model().objects.filter(customer_member__customer=customer).update(is_active=False)
    audit.note("name", customer.name)
    Customer.objects.filter(pk=customer.pk).delete()
    return customer


@intent("rotate_customer_wall_link")
@transaction.atomic
def rotate_wall_link(customer: Customer, *, actor: Any) -> tuple[Customer, str]:
    """Give the customer a new wall-screen link and return it with its secret, which is shown
    once and stored only as a hash: the previous link stops working at once."""
    raw = secrets.token_urlsafe(WALL_TOKEN_BYTES)
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        wall_token_hash=_hash(raw), wall_token_rotated_at=now
    )
    customer.wall_token_hash, customer.wall_token_rotated_at = _hash(raw), now
    return customer, raw


@intent("revoke_customer_wall_link")
@transaction.atomic
def revoke_wall_link(customer: Customer, *, actor: Any) -> Customer:
    """Switch the wall-screen link off."""
    Customer.objects.filter(pk=customer.pk).update(
        wall_token_hash="", wall_token_rotated_at=timezone.now()
    )
    customer.wall_token_hash = ""
    return customer


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def customer_for_wall_token(raw: str) -> Customer | None:
    """The customer whose current wall link this is, or None (one query)."""
    if not raw or len(raw) > 100:
        return None
    found = Customer.objects.filter(wall_token_hash=_hash(raw)).select_related("page").first()
    if found is None or not secrets.compare_digest(found.wall_token_hash, _hash(raw)):
        return None
    return found


# --- Sign-in ---------------------------------------------------------------------------------


def request_sign_in_link(email: str, *, ip: str = "", language: str = "en") -> None:
    """Mail a one-time sign-in link to a customer's address (after commit); do nothing, in the
    same way, for any other address. Refuses malformed addresses and, per address and per
    sender, more than the configured number of requests an hour (ServiceError, the same for
    known and unknown addresses)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            _("Enter an email address like name@example.com."), field="email"
        ) from None
    if not take_attempt(
        f"customer-link:ip:{hash_ip(ip)}", settings.CUSTOMER_LINK_RATE_PER_IP, 3600
    ) or not take_attempt(
        f"customer-link:email:{hash_ip(email)}", settings.CUSTOMER_LINK_RATE, 3600
    ):
        raise ServiceError(
            _(
                "Several sign-in links were asked for in a short time. Please use the last "
                "one we sent, or try again in an hour."
            ),
            code="rate_limited",
        )
    customer, member = customer_for_address(email)
    if customer is None:
        return
    send_sign_in_link(customer, email=email, member=member, language=language)


@intent("send_customer_sign_in_link")
def send_sign_in_link(
    customer: Customer,
    *,
    email: str,
    member: CustomerMember | None = None,
    language: str = "en",
    actor: Any = None,
) -> CustomerMember:
    """Make sure the person has a (never staff) user and mail them a one-time link."""
    if member is None:
        member, _made = CustomerMember.objects.get_or_create(
            email=email, defaults={"customer": customer, "invited": False}
        )
    if member.user_id is None:
        user = get_user_model().objects.create_user(
            username=f"customer-{member.public_id}", email=email
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        CustomerMember.objects.filter(pk=member.pk).update(user=user)
        member.user = user
    else:
        existing = member.user
        assert existing is not None
        if existing.is_staff:  # a staff account never signs in by link
            return member
        if not existing.is_active:  # switched off earlier; the customer lists it again
            get_user_model().objects.filter(pk=existing.pk).update(is_active=True)
    audit.set_actor(member_actor(member))
    member_id, site = member.pk, site_url()
    transaction.on_commit(lambda: _queue_link(member_id, language, site))
    return member


def _queue_link(member_id: int, language: str, site: str) -> None:
    from incidents.tasks import send_customer_sign_in_link

    send_customer_sign_in_link.delay(member_id, language, site)


def mail_sign_in_link(member_id: int, language: str, site: str) -> None:
    """Build and send the sign-in mail (the task's work): a fresh one-time link."""
    from incidents import customer_mail

    token = request_site_url.set(site)
    try:
        member = CustomerMember.objects.select_related("customer__page", "user").get(pk=member_id)
        customer_mail.send_sign_in_link(member, language)
    finally:
        request_site_url.reset(token)


@intent("customer_signed_in")
def sign_in_with_link(token: str, *, actor: Any = None) -> CustomerMember:
    """The customer person whose one-time link this is (the link is used up): raises
    ServiceError when it is invalid, used or expired."""
    # django-sesame's backend checks the token (signature, age, scope, and that the user's
    # last sign-in has not changed since: single use); it is called here rather than listed
    # in AUTHENTICATION_BACKENDS so the engineers' sign-in never accepts a link.
    from sesame.backends import ModelBackend as LinkBackend

    user = LinkBackend().authenticate(None, sesame=token, scope=SIGN_IN_SCOPE) if token else None
    if user is not None:
        user.last_login = timezone.now()  # uses the link up
        user.save(update_fields=["last_login"])
    member = (
        CustomerMember.objects.select_related("customer").filter(user=user).first()
        if user is not None and not user.is_staff
        else None
    )
    if member is None:
        raise ServiceError(
            _("This sign-in link is not valid any more. Ask for a new one."), code="invalid"
        )
    audit.set_actor(member_actor(member))
    member.last_sign_in_at = timezone.now()
    CustomerMember.objects.filter(pk=member.pk).update(last_sign_in_at=member.last_sign_in_at)
    return member


def member_for_user(user: Any) -> CustomerMember | None:
    """The customer person a signed-in user is (None for engineers and strangers)."""
    if user is None or not user.is_authenticated or user.is_staff:
        return None
    return CustomerMember.objects.select_related("customer__page").filter(user=user).first()
