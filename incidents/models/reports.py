"""Problem reports from customers and the early warning they raise (the outage playbook)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext_lazy as _

from .customers import Customer
from .incidents import Incident
from .pages import Component, Page


class Answer(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("I don't know")


class ProblemReport(models.Model):
    """A customer's "is it just me?" report, with what the status page showed at that moment."""

    class Scope(models.TextChoices):
        ONE = "one", _("One person")
        SEVERAL = "several", _("Several people")
        COMPANY = "company", _("The whole company")

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="problem_reports", verbose_name=_("page")
    )
    components = models.ManyToManyField(
        Component, blank=True, related_name="problem_reports", verbose_name=_("components")
    )
    scope = models.CharField(_("who is affected"), max_length=16, choices=Scope.choices)
    has_power = models.CharField(_("power"), max_length=8, choices=Answer.choices)
    has_internet = models.CharField(_("internet"), max_length=8, choices=Answer.choices)
    since = models.CharField(_("since when"), max_length=100)
    description = models.TextField(_("description"))
    contact_name = models.CharField(_("name"), max_length=120)
    company = models.CharField(_("company"), max_length=120)
    # Set when a signed-in customer's person reports: the early warning then counts companies
    # by this, not by the name typed.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="problem_reports",
        verbose_name=_("customer"),
    )
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=40)
    language = models.CharField(_("language"), max_length=8, default="en")
    # A keyed hash of the sender's address: enough to see one sender's bursts, not who it was.
    ip_hash = models.CharField(max_length=64, blank=True, editable=False)
    # {"indicator": ..., "version": ..., "incidents": [{"id", "name", "kind", "status"}]}
    status_shown = models.JSONField(_("status page showed"), default=dict, blank=True)
    incident = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="problem_reports",
        verbose_name=_("linked incident"),
    )
    support_emailed_at = models.DateTimeField(_("emailed to support"), null=True, blank=True)
    created_at = models.DateTimeField(_("received"), default=timezone_now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("problem report")
        verbose_name_plural = _("problem reports")
        indexes = [models.Index(fields=["page", "created_at"])]

    def __str__(self) -> str:
        return f"{self.company} ({self.contact_name}), {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def reference(self) -> str:
        """The number a reporter quotes when they call or mail support: "R-000123"."""
        return f"R-{self.pk:06d}"


class ReportAlert(models.Model):
    """An early warning: many reports about the same components in a short time. One per page
    and burst, listing every component that crossed the threshold during it."""

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="report_alerts", verbose_name=_("page")
    )
    components = models.ManyToManyField(Component, related_name="+", verbose_name=_("components"))
    created_at = models.DateTimeField(_("raised"), default=timezone_now, db_index=True)
    # The burst goes on while reports keep coming within the window of the previous one.
    last_report_at = models.DateTimeField(_("last report"))
    # Reports, not (report, component) pairs: one report naming ten components counts once.
    report_count = models.PositiveIntegerField(_("reports"))
    company_count = models.PositiveIntegerField(_("companies"))
    emailed_to = models.CharField(max_length=254, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("report alert")
        verbose_name_plural = _("report alerts")

    def __str__(self) -> str:
        return f"{self.page}: {self.report_count} reports"

    @property
    def component_names(self) -> str:
        """The components, comma-separated (prefetch `components` when listing alerts)."""
        return ", ".join(c.name for c in self.components.all())
