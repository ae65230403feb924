"""The audit trail: who changed what, through which door, and when. Append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .pages import Page


class AuditEntry(models.Model):
    """One intent carried out by a service (one row per service call, in its transaction).

    Rows are never changed or deleted by the application; `save` refuses an update.
    """

    class ActorType(models.TextChoices):
        USER = "user", _("user")
        API_KEY = "api_key", _("API key")
        INTEGRATION = "integration", _("integration")
        CLOCK = "clock", _("clock")
        COMMAND = "command", _("command")
        SYSTEM = "system", _("system")
        # Public writes: someone on the public pages, or a subscriber through their own link.
        VISITOR = "visitor", _("visitor")
        SUBSCRIBER = "subscriber", _("subscriber")

    class Channel(models.TextChoices):
        ADMIN = "admin", _("admin")
        API = "api", _("API")
        CLOCK = "clock", _("clock")
        COMMAND = "command", _("command")
        PUBLIC = "public", _("public")
        SYSTEM = "system", _("system")

    page = models.ForeignKey(
        Page,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("page"),
    )
    created_at = models.DateTimeField(_("when"), db_index=True)
    actor_type = models.CharField(_("actor type"), max_length=16, choices=ActorType.choices)
    actor_name = models.CharField(_("who"), max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_api_key = models.ForeignKey(
        "incidents.APIKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API key"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["page", "-created_at", "-id"], name="audit_page_newest"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit entries are append-only.")

    def as_dict(self) -> dict:
        """The shape the API and the export use."""
        return {
            "id": self.pk,
            "created_at": self.created_at.isoformat(),
            "actor": {"type": self.actor_type, "name": self.actor_name},
            "channel": self.channel,
            "action": self.action,
            "object": {"type": self.object_type, "id": self.object_id},
            "changes": self.changes,
        }
