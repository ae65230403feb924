"""Incidents and maintenance: timeline, components they hold, status history, templates."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import (
    CLOSED_STATUSES,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    ComponentStatus,
    Impact,
    IncidentStatus,
)
from .pages import Component, Page
from .public_ids import PublicIdField


class Incident(models.Model):
    """An incident, or a scheduled maintenance (kind), with its append-only update timeline."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", _("Incident")
        MAINTENANCE = "maintenance", _("Maintenance")

    public_id = PublicIdField()
    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="incidents", verbose_name=_("page")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INCIDENT)
    name = models.CharField(_("title"), max_length=200)
    # The title in other languages than the page's ({"nl": "..."}; incidents.translations).
    name_translations = models.JSONField(_("title in other languages"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=IncidentStatus.choices)
    impact = models.CharField(_("impact"), max_length=16, choices=Impact.choices)
    components: models.ManyToManyField[Component, IncidentComponent] = models.ManyToManyField(
        Component,
        through="IncidentComponent",
        related_name="incidents",
        verbose_name=_("affected components"),
        blank=True,
    )
    # The postmortem, as Statuspage has it: a draft the engineers edit (`postmortem`) and the
    # text the public reads, copied from the draft when it is published (and cleared on revert).
    postmortem = models.TextField(_("postmortem draft"), blank=True, help_text=_("Markdown."))
    postmortem_updated_at = models.DateTimeField(_("postmortem edited"), null=True, blank=True)
    postmortem_published = models.TextField(_("published postmortem"), blank=True, editable=False)
    postmortem_published_at = models.DateTimeField(_("postmortem published"), null=True, blank=True)
    postmortem_notified_subscribers = models.BooleanField(default=False)
    # What the phone line says about this incident instead of the generated sentence.
    phone_message = models.TextField(
        _("phone message"),
        blank=True,
        help_text=_("Overrides the spoken summary the phone line plays for this incident."),
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    updated_at = models.DateTimeField(_("updated"))
    started_at = models.DateTimeField(_("started"))
    identified_at = models.DateTimeField(null=True, blank=True)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # Maintenance only.
    scheduled_for = models.DateTimeField(_("starts"), null=True, blank=True)
    scheduled_until = models.DateTimeField(_("ends"), null=True, blank=True)
    scheduled_auto_in_progress = models.BooleanField(_("start automatically"), default=True)
    scheduled_auto_completed = models.BooleanField(_("complete automatically"), default=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [models.Index(fields=["page", "status"]), models.Index(fields=["page", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="incident") & Q(status__in=INCIDENT_STATUSES))
                | (Q(kind="maintenance") & Q(status__in=MAINTENANCE_STATUSES)),
                name="incident_status_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(scheduled_until__isnull=True)
                | Q(scheduled_for__isnull=True)
                | Q(scheduled_until__gt=models.F("scheduled_for")),
                name="maintenance_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_maintenance(self) -> bool:
        return self.kind == self.Kind.MAINTENANCE

    @property
    def is_resolved(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def postmortem_is_published(self) -> bool:
        return self.postmortem_published_at is not None


class IncidentComponent(models.Model):
    """A component an incident affects, and the status this incident currently gives it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    # The component's status when this incident took it over (maintenance restores it).
    status_before = models.CharField(max_length=24, choices=ComponentStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "component"], name="incident_component_unique"
            )
        ]


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline. Appended, never rewritten (but typos may be fixed)."""

    public_id = PublicIdField()
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(_("status"), max_length=16, choices=IncidentStatus.choices)
    body = models.TextField(_("message"), help_text=_("Markdown."))
    body_translations = models.JSONField(_("message in other languages"), default=dict, blank=True)
    # [{"code": id, "name": ..., "old_status": ..., "new_status": ...}] as Statuspage has it.
    affected_components = models.JSONField(default=list, blank=True)
    deliver_notifications = models.BooleanField(_("notify subscribers"), default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(_("posted"), db_index=True)
    updated_at = models.DateTimeField()
    display_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "-display_at", "-id"]
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")

    def __str__(self) -> str:
        return f"{self.get_status_display()}: {self.body[:60]}"


class ComponentStatusChange(models.Model):
    """The time series of a component's status; uptime is computed from it."""

    # Webhooks name a change (`component_update.id`) by it.
    public_id = PublicIdField()
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(max_length=24, choices=ComponentStatus.choices, blank=True)
    new_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["component", "changed_at", "id"]
        indexes = [models.Index(fields=["component", "changed_at"])]
        verbose_name = _("component status change")
        verbose_name_plural = _("component status history")

    def __str__(self) -> str:
        return f"{self.component}: {self.old_status or '—'} → {self.new_status}"


class IncidentTemplate(models.Model):
    """A reusable title, message and impact for a failure that happens more than once."""

    public_id = PublicIdField()
    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="incident_templates", verbose_name=_("page")
    )
    name = models.CharField(_("template name"), max_length=120)
    title = models.CharField(_("incident title"), max_length=200)
    title_translations = models.JSONField(_("title in other languages"), default=dict, blank=True)
    body = models.TextField(_("message"), help_text=_("Markdown."))
    body_translations = models.JSONField(_("message in other languages"), default=dict, blank=True)
    impact = models.CharField(
        _("impact"), max_length=16, choices=Impact.choices, default=Impact.MINOR
    )
    update_status = models.CharField(
        _("status"),
        max_length=16,
        choices=[(s.value, s.label) for s in INCIDENT_STATUSES],
        default=IncidentStatus.INVESTIGATING,
    )
    components = models.ManyToManyField(Component, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["page", "name"]
        verbose_name = _("incident template")
        verbose_name_plural = _("incident templates")
        constraints = [
            models.UniqueConstraint(fields=["page", "name"], name="template_name_unique_per_page")
        ]

    def __str__(self) -> str:
        return self.name


class MaintenanceManager(models.Manager["Maintenance"]):
    def get_queryset(self) -> models.QuerySet[Maintenance]:
        return super().get_queryset().filter(kind=Incident.Kind.MAINTENANCE)


class Maintenance(Incident):
    """Scheduled maintenance: the incidents of kind "maintenance", with their own admin list."""

    objects: ClassVar[MaintenanceManager] = MaintenanceManager()

    class Meta:
        proxy = True
        ordering = ["-scheduled_for", "-id"]
        verbose_name = _("scheduled maintenance")
        verbose_name_plural = _("scheduled maintenance")


class MaintenanceReminder(models.Model):
    """A reminder the maintenance clock sent (or skipped) for one start time: never twice.

    Keyed on the start it announced, so moving the maintenance arms its reminders again.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reminders")
    hours = models.PositiveIntegerField()
    scheduled_for = models.DateTimeField()
    # False when a later, closer reminder was due at the same tick and this one was skipped.
    sent = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("maintenance reminder")
        verbose_name_plural = _("maintenance reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "hours", "scheduled_for"], name="maintenance_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident}: {self.hours} h"
