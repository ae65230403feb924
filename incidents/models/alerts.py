"""Monitoring in: rules that map alerts (Alertmanager, Grafana) to components, and what
automation did for each alert, so a resolved alert undoes only its own change."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import ComponentStatus
from .incidents import ComponentStatusChange, Incident, IncidentTemplate
from .pages import Component, Page

# Severity label -> component status, unless a rule says otherwise.
DEFAULT_SEVERITY_STATUS = {
    "critical": ComponentStatus.MAJOR_OUTAGE,
    "warning": ComponentStatus.DEGRADED_PERFORMANCE,
}
FALLBACK_STATUS = ComponentStatus.PARTIAL_OUTAGE


class AlertRule(models.Model):
    """Label matchers -> a component, the status per severity, and what else to do.

    Rules are tried by position; the first whose matchers all equal the alert's labels wins.
    Without a matching rule an alert names its component with the label `component`.
    """

    class IncidentAction(models.TextChoices):
        NONE = "none", _("Only change the component")
        DRAFT = "draft", _("Prepare a draft incident for an engineer to publish")
        PUBLISH = "publish", _("Publish an incident at once")

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="alert_rules", verbose_name=_("page")
    )
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)
    matchers = models.JSONField(
        _("label matchers"),
        default=dict,
        blank=True,
        help_text=_(
            'Labels the alert must carry, as JSON, for example {"alertname": "VPNDown"}. '
            "Empty matches every alert."
        ),
    )
    component = models.ForeignKey(
        Component,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("component"),
        help_text=_("Empty: the component named by the alert's “component” label."),
    )
    severity_statuses = models.JSONField(
        _("status per severity"),
        default=dict,
        blank=True,
        help_text=_(
            'Overrides, as JSON, for example {"critical": "partial_outage"}. By default '
            "critical is a major outage, warning degraded performance, anything else a partial "
            "outage."
        ),
    )
    hold_down_seconds = models.PositiveIntegerField(
        _("hold-down (seconds)"),
        default=300,
        help_text=_(
            "After an alert resolves, wait this long before the component goes back: an alert "
            "that fires again in that time changes nothing (no flapping)."
        ),
    )
    incident_action = models.CharField(
        _("incident"), max_length=8, choices=IncidentAction.choices, default=IncidentAction.NONE
    )
    template = models.ForeignKey(
        IncidentTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("incident template"),
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["page", "position", "id"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self) -> str:
        return self.name

    def status_for(self, severity: str) -> str:
        return status_for_severity(severity, self.severity_statuses)


def status_for_severity(severity: str, overrides: dict | None = None) -> str:
    severity = (severity or "").strip().lower()
    if overrides and severity in overrides:
        return overrides[severity]
    return DEFAULT_SEVERITY_STATUS.get(severity, FALLBACK_STATUS)


class AlertState(models.Model):
    """One alert (by fingerprint) on one page: what it asked for and what automation did.

    `applied_change` is the status-history row automation wrote; a resolve restores
    `status_before` only while that row is still the component's latest (nobody changed it since).
    """

    class State(models.TextChoices):
        FIRING = "firing", _("Firing")
        RESOLVING = "resolving", _("Resolved, holding down")
        RESOLVED = "resolved", _("Resolved")

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=128)
    source = models.CharField(max_length=16)
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    component = models.ForeignKey(
        Component, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    alertname = models.CharField(max_length=200, blank=True)
    labels = models.JSONField(default=dict)
    summary = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FIRING)
    status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    status_before = models.CharField(max_length=24, choices=ComponentStatus.choices, blank=True)
    applied_change = models.ForeignKey(
        ComponentStatusChange, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Why automation left the component alone, when it did (a person's status, an incident).
    held_by = models.CharField(max_length=200, blank=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    restore_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["page", "fingerprint"], name="alert_fingerprint_unique")
        ]
        indexes = [models.Index(fields=["state", "restore_after"])]

    def __str__(self) -> str:
        return self.alertname or self.fingerprint


class AlertDraft(models.Model):
    """An incident automation prepared from a rule's template; an engineer publishes it."""

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="+", verbose_name=_("page")
    )
    alert = models.ForeignKey(AlertState, on_delete=models.CASCADE, related_name="drafts")
    template = models.ForeignKey(
        IncidentTemplate, on_delete=models.CASCADE, related_name="+", verbose_name=_("template")
    )
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    incident = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published incident"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    dismissed_at = models.DateTimeField(_("dismissed"), null=True, blank=True)

    class Meta:
        verbose_name = _("draft incident")
        verbose_name_plural = _("draft incidents")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert"],
                condition=Q(published_at__isnull=True, dismissed_at__isnull=True),
                name="one_open_draft_per_alert",
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.alert})"
