"""Email subscribers of a page and the outbox of notifications sent to them.

`Notification` records one domain event that tells subscribers something (its key makes a
second dispatch of the same event a no-op); `Delivery` is one row per (notification, subscriber,
channel), claimed by a worker with a conditional UPDATE, sent, and marked.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from incidents.models import Component, Customer, Incident, Page
from incidents.models.public_ids import PublicIdField

LANGUAGES = [("en", _("English")), ("nl", _("Dutch"))]


def redact_endpoint(url: str) -> str:
    """An endpoint without what may be a secret (path, query, credentials): for lists and logs."""
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}{sep}{host}/…" if sep else "…"


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Subscriber(models.Model):
    """Someone following a page (all components, or only those listed): by email, by webhook
    (a Statuspage-compatible endpoint, signed per Standard Webhooks) or in a chat (an Apprise
    URL: Slack, Teams, Mattermost, Discord, Telegram, ntfy...). A page's own engineers'
    channels are chat subscribers too, added in the admin."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")
        CHAT = "chat", _("Chat")

    class Event(models.TextChoices):
        INCIDENT = "incident", _("Incidents")
        MAINTENANCE = "maintenance", _("Maintenance")
        COMPONENT = "component", _("Component status changes")

    public_id = PublicIdField()
    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="subscribers", verbose_name=_("page")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.EMAIL)
    email = models.EmailField(
        _("email address"),
        max_length=254,
        blank=True,
        help_text=_("For a webhook: where confirmation and failure notices go."),
    )
    endpoint = models.CharField(
        _("endpoint"),
        max_length=2000,
        blank=True,
        help_text=_("A webhook's URL, or a chat's Apprise URL (for example mmost://host/token)."),
    )
    # Standard Webhooks secret ("whsec_" + base64), shown once when the webhook is created.
    secret = models.CharField(max_length=100, blank=True, editable=False)
    events = models.JSONField(
        _("events"),
        default=list,
        blank=True,
        help_text=_("Which events a chat or webhook gets; none selected means all."),
    )
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="en")
    components = models.ManyToManyField(
        Component,
        blank=True,
        related_name="subscribers",
        verbose_name=_("components"),
        help_text=_("None selected means every component of the page."),
    )
    # Set when the confirmed address is one of a customer's people (an invited address or one
    # of its mail domains), or by an engineer: such a subscriber also gets the customer-only
    # incidents of its company (incidents.visibility).
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscribers",
        verbose_name=_("customer"),
        help_text=_("Gets this customer's customer-only incidents too."),
    )
    # The secret in manage and unsubscribe links: whoever holds the mail may manage it.
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    bounce_count = models.PositiveIntegerField(_("bounces"), default=0)
    flagged_at = models.DateTimeField(
        _("flagged"),
        null=True,
        blank=True,
        help_text=_("Set after repeated permanent failures: no more mail goes to this address."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["page", "email"]
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        constraints = [
            models.UniqueConstraint(
                fields=["page", "email"],
                condition=Q(kind="email"),
                name="subscriber_email_unique",
            ),
            models.UniqueConstraint(
                fields=["page", "kind", "endpoint"],
                condition=~Q(kind="email"),
                name="subscriber_endpoint_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind="email", endpoint="") | (~Q(kind="email") & ~Q(endpoint="")),
                name="subscriber_kind_has_its_address",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.EMAIL:
            return self.email
        return f"{self.get_kind_display()}: {redact_endpoint(self.endpoint)}"

    def wants(self, category: str) -> bool:
        return not self.events or category in self.events

    @property
    def is_active(self) -> bool:
        return bool(self.confirmed_at and not self.unsubscribed_at and not self.flagged_at)

    @property
    def flagged(self) -> bool:
        return self.flagged_at is not None


class Notification(models.Model):
    """One event that notifies subscribers, recorded once under its key."""

    key = models.CharField(max_length=160, unique=True)
    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="+", verbose_name=_("page")
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event_type = models.CharField(max_length=40)
    # The event as published (JSON), enough to render the mail without the event object.
    data = models.JSONField(default=dict)
    component_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.key


class Delivery(models.Model):
    """The outbox: one notification to one subscriber over one channel, sent at most once."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, default="email")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds the last send took.")
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    uncertain_sends = models.PositiveSmallIntegerField(
        default=0,
        help_text="Sends whose outcome was unknown (connection lost at the final dot), "
        "sent again with the same Message-ID.",
    )

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "subscriber", "channel"], name="delivery_unique"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sending", "sent", "failed"]),
                name="delivery_state_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["state", "lease_until"]),
            models.Index(fields=["claim"]),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} → {self.subscriber_id} ({self.state})"
