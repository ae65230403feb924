"""Writes to subscriptions: subscribe (double opt-in), confirm, preferences, unsubscribe, import.

Nothing here says whether an address was already subscribed: `subscribe` behaves the same for
every address and tells the owner of the mailbox, by mail, what happened. Each write is one
audited intent (`incidents.services.audit.intent`): public ones name a visitor or the
subscriber as the actor, channel "public"; the API and admin pass their key or user.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents import visibility
from incidents.models import Component, Customer, Page
from incidents.models.pages import request_site_url, site_url
from incidents.services import ServiceError, audit
from incidents.services.audit import intent
from incidents.services.customers import customer_for_address

from . import emails
from .models import LANGUAGES, Subscriber, redact_endpoint
from .ssrf import UnsafeURL, check_url

CONFIRM_SALT = "notifications.confirm"


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased, validated; raises ServiceError with a message for a person."""
    email = (value or "").strip().lower()
    if not email:
        raise ServiceError(_("Enter your email address."), code="required", field="email")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ServiceError(
            _("“%(email)s” is not a valid email address, for example name@example.com.")
            % {"email": email[:80]},
            field="email",
        ) from exc
    return email


def _components(
    page: Page, components: Iterable[Any], customer: Customer | None = None
) -> list[Component]:
    """The chosen components: public ones of the page (and a customer's own ones for its
    subscribers); a hidden or another customer's component is refused as unknown."""
    ids = {int(getattr(c, "pk", c)) for c in components or []}
    chosen = Component.objects.filter(page=page, pk__in=ids)
    found = list(
        visibility.components_visible_to(customer, chosen)
        if customer is not None
        else visibility.public_components(chosen)
    )
    if len(found) != len(ids):
        raise ServiceError(
            _("Choose components of this page only."), code="invalid", field="components"
        )
    return found


def _language(language: str) -> str:
    return language if language in dict(LANGUAGES) else "en"


def confirmation_token(subscriber: Subscriber) -> str:
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(
        {"id": subscriber.pk, "email": subscriber.email}
    )


@intent("subscribe")
def subscribe(
    page: Page,
    *,
    email: str,
    components: Iterable[Any] = (),
    language: str = "en",
    skip_confirmation: bool = False,
    customer: Customer | None = None,
    actor: Any = None,
) -> Subscriber:
    """Start a subscription: a confirmation mail goes out; nothing else before confirmation.

    A confirmed address keeps its preferences (a stranger must not change them) and gets a
    mail with its manage link instead. `skip_confirmation` (Statuspage's
    `skip_confirmation_notification`, by a page's API key) confirms at once and mails nothing.
    `customer` (an engineer's or a key's) makes it that customer's subscriber; otherwise an
    address of a customer's people is recognized when confirmed.
    """
    email = normalize_email(email)
    chosen = _components(page, components, customer)
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            page=page,
            email=email,
            kind=Subscriber.Kind.EMAIL,
            defaults={"language": _language(language)},
        )
        if subscriber.is_active:
            kind = "already"
        else:
            kind = "confirm"
            fields = [] if created else ["language"]
            subscriber.language = _language(language)
            if customer is not None:
                subscriber.customer = customer
                fields.append("customer")
                audit.note("customer", customer.code)
            if fields:
                subscriber.save(update_fields=fields)
            subscriber.components.set(chosen)
            audit.note("components", [c.public_id for c in chosen])
            if skip_confirmation:
                _activate(subscriber)
    if not skip_confirmation:
        site = site_url()
        transaction.on_commit(lambda: _queue_mail(subscriber.pk, kind, site))
    return subscriber


def _activate(subscriber: Subscriber) -> None:
    subscriber.confirmed_at = timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.flagged_at = None
    subscriber.bounce_count = 0
    fields = ["confirmed_at", "unsubscribed_at", "flagged_at", "bounce_count"]
    if _recognize_customer(subscriber):
        fields.append("customer")
    subscriber.save(update_fields=fields)


def _recognize_customer(subscriber: Subscriber) -> bool:
    """A confirmed address of a customer's people (invited, or of one of its mail domains)
    makes the subscriber that customer's, unless an engineer chose one already. Returns
    whether it changed."""
    if subscriber.customer_id is not None or not subscriber.email:
        return False
    customer, _person = customer_for_address(subscriber.email)
    if customer is None:
        return False
    subscriber.customer = customer
    audit.note("customer", customer.code)
    return True


def _queue_mail(subscriber_id: int, kind: str, site: str) -> None:
    from .tasks import send_subscription_mail

    send_subscription_mail.delay(subscriber_id, kind, site)


def send_subscription_mail(subscriber_id: int, kind: str, site: str | None = None) -> None:
    """The confirmation mail (signed, expiring link) or the "already subscribed" mail. `site`
    is the base URL the person subscribed at (`site_url()` then), so the links lead back there."""
    token = request_site_url.set(site)
    try:
        _send_subscription_mail(subscriber_id, kind)
    finally:
        request_site_url.reset(token)


def _send_subscription_mail(subscriber_id: int, kind: str) -> None:
    subscriber = Subscriber.objects.select_related("page").filter(pk=subscriber_id).first()
    if subscriber is None:
        return
    page = subscriber.page
    days = settings.NOTIFICATIONS_CONFIRM_MAX_AGE // 86400
    context = {
        "page": page,
        "days": days,
        "confirm_url": emails.page_url(
            page, f"subscribe/confirm/{confirmation_token(subscriber)}/"
        ),
        "manage_url": emails.manage_url(page, subscriber.token),
        "unsubscribe_url": emails.unsubscribe_url(page, subscriber.token),
    }
    with translation.override(subscriber.language):
        if subscriber.kind != Subscriber.Kind.EMAIL:
            context["kind"] = subscriber.get_kind_display()
            context["endpoint"] = redact_endpoint(subscriber.endpoint)
            subject = _("Confirm the %(kind)s notifications from %(name)s") % {
                "kind": subscriber.get_kind_display().lower(),
                "name": emails.one_line(page.name),
            }
            template = "confirm_endpoint"
        elif kind == "already":
            subject = _("Your subscription to %(name)s") % {"name": emails.one_line(page.name)}
            template = "already"
        else:
            subject = _("Confirm your subscription to %(name)s") % {
                "name": emails.one_line(page.name)
            }
            template = "confirm"
        # HTML and text, like the notices: the page's colour, a button to confirm.
        text = render_to_string(f"notifications/email/{template}.txt", context)
        html = render_to_string(f"notifications/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject,
        text,
        emails.from_header(page),
        [subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    message.send()


@intent("confirm_subscription")
def confirm(page: Page, signed: str, *, actor: Any = None) -> Subscriber:
    """Confirm by the signed link; raises ServiceError when it is invalid or expired.

    A webhook gets a new signing secret (on `subscriber.secret`), shown once on the page that
    answers: confirming again gives another. `actor` defaults to the subscriber (public).
    """
    signer = signing.TimestampSigner(salt=CONFIRM_SALT)
    try:
        data = signer.unsign_object(signed, max_age=settings.NOTIFICATIONS_CONFIRM_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ServiceError(
            _("This confirmation link has expired. Subscribe again to get a new one."),
            code="expired",
        ) from exc
    except signing.BadSignature as exc:
        raise ServiceError(_("This confirmation link is not valid."), code="invalid") from exc
    subscriber = Subscriber.objects.filter(
        pk=data.get("id"), email=data.get("email"), page=page
    ).first()
    if subscriber is None:
        raise ServiceError(_("This confirmation link is not valid."), code="invalid")
    _own_actor(actor, subscriber)
    if not subscriber.is_active:
        _activate(subscriber)
    if subscriber.kind == Subscriber.Kind.WEBHOOK:
        from .webhooks import new_secret

        subscriber.secret = new_secret()
        subscriber.save(update_fields=["secret"])
        audit.note("secret", "renewed")
    return subscriber


def _own_actor(actor: Any, subscriber: Subscriber) -> None:
    """A public write whose subscriber is only known inside the service: the audit row names
    them (an explicit actor, e.g. an API key, is kept)."""
    if actor is None:
        audit.set_actor(audit.Actor.subscriber(subscriber))


@intent("subscribe_endpoint")
def add_endpoint(
    page: Page,
    *,
    kind: str,
    endpoint: str,
    email: str = "",
    components: Iterable[Any] = (),
    events: Iterable[str] = (),
    language: str = "en",
    skip_confirmation: bool = False,
    customer: Customer | None = None,
    actor: Any = None,
) -> tuple[Subscriber, str]:
    """Subscribe a webhook endpoint or a chat (Apprise URL) to the page.

    The URL is checked (scheme, and against SSRF after DNS resolution). Unless
    `skip_confirmation` (an engineer's API key or the admin), the owner confirms by email first.
    Returns the subscriber and, for a webhook, its new signing secret (shown only now).
    """
    from .chat import check_apprise_url
    from .webhooks import new_secret

    if kind not in (Subscriber.Kind.WEBHOOK, Subscriber.Kind.CHAT):
        raise ServiceError(_("Choose webhook or chat."), code="invalid", field="kind")
    endpoint = (endpoint or "").strip()
    if not endpoint:
        raise ServiceError(_("Enter the URL to send to."), code="required", field="endpoint")
    if len(endpoint) > 2000:
        raise ServiceError(_("This URL is too long."), field="endpoint")
    try:
        if kind == Subscriber.Kind.WEBHOOK:
            check_url(endpoint)
        else:
            check_apprise_url(endpoint)
    except UnsafeURL as exc:
        raise ServiceError(str(exc), code="invalid_endpoint", field="endpoint") from exc
    email = normalize_email(email) if (email or "").strip() else ""
    if not email and not skip_confirmation:
        raise ServiceError(
            _("Enter an email address: we send the confirmation and any failure notices there."),
            code="required",
            field="email",
        )
    chosen_events = sorted(set(events or ()))
    unknown = set(chosen_events) - set(Subscriber.Event.values)
    if unknown:
        raise ServiceError(
            _("Unknown events: %(events)s; use %(choices)s.")
            % {"events": ", ".join(sorted(unknown)), "choices": ", ".join(Subscriber.Event.values)},
            field="events",
        )
    chosen = _components(page, components, customer)
    now = timezone.now()
    secret = new_secret() if kind == Subscriber.Kind.WEBHOOK else ""
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            page=page, kind=kind, endpoint=endpoint, defaults={"email": email}
        )
        if not created and subscriber.is_active:
            raise ServiceError(
                _("This address is already subscribed to this page."),
                code="duplicate",
                field="endpoint",
            )
        subscriber.email = email
        subscriber.language = _language(language)
        subscriber.events = chosen_events
        subscriber.secret = secret
        subscriber.confirmed_at = now if skip_confirmation else None
        subscriber.unsubscribed_at = None
        subscriber.flagged_at = None
        subscriber.bounce_count = 0
        if customer is not None:
            subscriber.customer = customer
            audit.note("customer", customer.code)
        elif skip_confirmation:
            _recognize_customer(subscriber)
        subscriber.save()
        subscriber.components.set(chosen)
        audit.note("components", [c.public_id for c in chosen])
    if not skip_confirmation:
        site = site_url()
        transaction.on_commit(lambda: _queue_mail(subscriber.pk, "confirm", site))
    return subscriber, secret


@intent("renew_webhook_secret")
def renew_webhook_secret(subscriber: Subscriber, *, actor: Any = None) -> str:
    """A new Standard Webhooks secret for a webhook subscriber; returns it (shown once)."""
    from .webhooks import new_secret

    secret = new_secret()
    Subscriber.objects.filter(pk=subscriber.pk).update(secret=secret)
    subscriber.secret = secret
    audit.note("secret", "renewed")
    return secret


def send_disabled_notice(subscriber_id: int, error: str) -> None:
    """Tell a webhook's or chat's owner that repeated failures stopped its notifications."""
    subscriber = Subscriber.objects.select_related("page").filter(pk=subscriber_id).first()
    if subscriber is None or not subscriber.email:
        return
    page = subscriber.page
    context = {
        "page": page,
        "kind": subscriber.get_kind_display(),
        "endpoint": redact_endpoint(subscriber.endpoint),
        "error": error,
        "subscribe_url": emails.page_url(page, "subscribe/"),
    }
    with translation.override(subscriber.language):
        subject = _("We stopped sending notifications of %(name)s to your %(kind)s") % {
            "name": page.name,
            "kind": subscriber.get_kind_display().lower(),
        }
        text = render_to_string("notifications/email/endpoint_disabled.txt", context)
    EmailMultiAlternatives(
        subject,
        text,
        emails.from_header(page),
        [subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send()


@intent("unsubscribe")
def unsubscribe(subscriber: Subscriber, *, actor: Any = None) -> Subscriber:
    """Stop all mail to this subscriber (idempotent)."""
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["unsubscribed_at"])
    return subscriber


KEEP: Any = object()


@intent("update_subscription")
def update_preferences(
    subscriber: Subscriber,
    *,
    components: Iterable[Any],
    language: str,
    customer: Customer | None = KEEP,
    actor: Any = None,
) -> Subscriber:
    """Change which components (none = all) and which language the mails use; an engineer
    may also say which customer the subscriber belongs to (`customer`; None: the public)."""
    if customer is not KEEP:
        subscriber.customer = customer
    chosen = _components(subscriber.page, components, subscriber.customer)
    with transaction.atomic():
        subscriber.language = _language(language)
        fields = ["language"]
        if customer is not KEEP:
            fields.append("customer")
            audit.note("customer", customer.code if customer else None)
        subscriber.save(update_fields=fields)
        subscriber.components.set(chosen)
        audit.note("components", [c.public_id for c in chosen])
    return subscriber


@dataclass
class ImportResult:
    created: int = 0
    confirmed: int = 0
    unchanged: int = 0
    invalid: list[str] = field(default_factory=list)


def import_subscribers(
    page: Page, csv_text: str, *, actor: Any, language: str = ""
) -> ImportResult:
    """Import addresses as confirmed subscribers to every component (first column, or the
    `email` column; an optional `language` column). Invalid lines are reported, not fatal."""
    result = ImportResult()
    rows = list(csv.reader(io.StringIO(csv_text)))
    if not rows:
        return result
    header = [h.strip().lower() for h in rows[0]]
    email_col, language_col = 0, None
    if "email" in header:
        email_col = header.index("email")
        language_col = header.index("language") if "language" in header else None
        rows = rows[1:]
    wanted: dict[str, str] = {}
    for row in rows:
        if not row or not any(cell.strip() for cell in row):
            continue
        raw = row[email_col] if email_col < len(row) else ""
        try:
            email = normalize_email(raw)
        except ServiceError:
            result.invalid.append(raw.strip())
            continue
        lang = row[language_col].strip() if language_col is not None else ""
        wanted[email] = _language(lang or language or page.default_language)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            s.email: s
            for s in Subscriber.objects.filter(
                page=page, kind=Subscriber.Kind.EMAIL, email__in=wanted
            )
        }
        Subscriber.objects.bulk_create(
            [
                Subscriber(page=page, email=email, language=lang, confirmed_at=now)
                for email, lang in wanted.items()
                if email not in existing
            ],
            batch_size=1000,
        )
        result.created = len(wanted) - len(existing)
        revive = [s.pk for s in existing.values() if not s.is_active]
        Subscriber.objects.filter(pk__in=revive).update(
            confirmed_at=now, unsubscribed_at=None, flagged_at=None, bounce_count=0
        )
        result.confirmed = len(revive)
        result.unchanged = len(existing) - len(revive)
    return result


EXPORT_FIELDS = ["email", "language", "components", "confirmed_at", "unsubscribed_at", "flagged"]


def export_rows(subscribers) -> Iterable[list[str]]:
    """CSV rows (with header) for a queryset of subscribers: 2 queries however many."""
    yield EXPORT_FIELDS
    for s in subscribers.prefetch_related("components").order_by("page", "email"):
        yield [
            s.email,
            s.language,
            ";".join(c.name for c in s.components.all()),
            s.confirmed_at.isoformat() if s.confirmed_at else "",
            s.unsubscribed_at.isoformat() if s.unsubscribed_at else "",
            "yes" if s.flagged_at else "",
        ]


def _imported_endpoint(kind: str, endpoint: str) -> str:
    """A webhook's or chat's URL from another status page, checked as far as it can be here.

    A webhook URL must be http(s) with a host and no credentials, and an address written in it
    must be public; its name is not resolved now (the sender checks every address it resolves
    to, at each send), so a page can be moved before its subscribers' DNS points anywhere.
    A chat URL must be complete: sources show only a chat's host (its URL holds a token).
    """
    from .chat import check_apprise_url
    from .ssrf import check_literal, split_http_url

    endpoint = (endpoint or "").strip()
    if not endpoint:
        raise ServiceError(_("The source gives no URL to send to."), field="endpoint")
    if len(endpoint) > 2000:
        raise ServiceError(_("This URL is too long."), field="endpoint")
    try:
        if kind == Subscriber.Kind.WEBHOOK:
            _scheme, host, _port = split_http_url(endpoint)
            check_literal(host)
        else:
            if "…" in endpoint:
                raise ServiceError(
                    _(
                        "the source shows only the chat's host (its URL holds a token): add "
                        "the chat here, or move the page with export_page / import_page"
                    ),
                    code="redacted",
                    field="endpoint",
                )
            check_apprise_url(endpoint)
    except UnsafeURL as exc:
        raise ServiceError(str(exc), code="invalid_endpoint", field="endpoint") from exc
    return endpoint


@transaction.atomic
def import_subscriber(
    page: Page,
    *,
    actor: Any,
    kind: str = Subscriber.Kind.EMAIL,
    email: str = "",
    endpoint: str = "",
    components: Iterable[Any] = (),
    events: Iterable[str] = (),
    confirmed_at=None,
    flagged_at=None,
    language: str = "",
) -> tuple[Subscriber, str]:
    """Bring one subscriber of another status page over, as it is there: a confirmed one
    stays confirmed (no confirmation mail, nothing sent), an unconfirmed one stays unconfirmed,
    a quarantined one stays flagged. Components are the page's, by id (none: every component).

    An email subscriber is found again by its address, a webhook or chat by its URL. A webhook
    gets a signing secret of its own here when it is created (no source reveals one:
    Statuspage signs nothing, and we show a secret only once); nobody is told it, and a re-run
    keeps it. The page's engineers hand it to the owner with the admin's "renew the signing
    secret" action. Returns the subscriber and "created", "updated" or "unchanged"."""
    from .webhooks import new_secret

    if kind not in Subscriber.Kind.values:
        raise ServiceError(_("Choose email, webhook or chat."), code="invalid", field="kind")
    if kind == Subscriber.Kind.EMAIL:
        email = normalize_email(email)
        identity = {"email": email}
    else:
        endpoint = _imported_endpoint(kind, endpoint)
        email = normalize_email(email) if (email or "").strip() else ""
        identity = {"kind": kind, "endpoint": endpoint}
    chosen_events = sorted(set(events or ()))
    unknown = set(chosen_events) - set(Subscriber.Event.values)
    if unknown:
        raise ServiceError(
            _("Unknown events: %(events)s.") % {"events": ", ".join(sorted(unknown))},
            field="events",
        )
    ids = {int(getattr(c, "pk", c)) for c in components or []}
    chosen = list(Component.objects.filter(page=page, pk__in=ids))
    if len(chosen) != len(ids):
        raise ServiceError(
            _("Choose components of this page only."), code="invalid", field="components"
        )
    subscriber, created = Subscriber.objects.select_for_update().get_or_create(
        page=page,
        **identity,
        defaults={
            "kind": kind,
            "email": email,
            "events": chosen_events,
            "secret": new_secret() if kind == Subscriber.Kind.WEBHOOK else "",
            "language": _language(language or page.default_language),
            "confirmed_at": confirmed_at,
            "flagged_at": flagged_at,
        },
    )
    changed = []
    if not created:
        wanted: dict[str, Any] = {"confirmed_at": confirmed_at, "flagged_at": flagged_at}
        if language:
            wanted["language"] = _language(language)
        if kind != Subscriber.Kind.EMAIL:
            wanted.update(email=email, events=chosen_events)
        # An address confirmed here stays confirmed, whatever the source says.
        if subscriber.confirmed_at and not confirmed_at:
            wanted.pop("confirmed_at")
        changed = [name for name, value in wanted.items() if getattr(subscriber, name) != value]
        for name in changed:
            setattr(subscriber, name, wanted[name])
        if changed:
            subscriber.save(update_fields=changed)
    if created or {c.pk for c in subscriber.components.all()} != ids:
        subscriber.components.set(chosen)
        changed.append("components")
    return subscriber, "created" if created else ("updated" if changed else "unchanged")
