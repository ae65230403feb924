"""The domain: status pages, their components, incidents, maintenance and status history.

Models hold data, constraints and small derived properties. Every write goes through
`incidents.services`; nothing here writes another model.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    DEGRADED_PERFORMANCE = "degraded_performance", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")


# How bad each component status is, for "the worst current state".
COMPONENT_SEVERITY = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")
    # Scheduled maintenance shares the incident table, as in Statuspage.
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    VERIFYING = "verifying", _("Verifying")
    COMPLETED = "completed", _("Completed")


INCIDENT_OPEN_STATUSES = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
)
INCIDENT_STATUSES = (*INCIDENT_OPEN_STATUSES, IncidentStatus.RESOLVED)
MAINTENANCE_STATUSES = (
    IncidentStatus.SCHEDULED,
    IncidentStatus.IN_PROGRESS,
    IncidentStatus.VERIFYING,
    IncidentStatus.COMPLETED,
)
CLOSED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.COMPLETED)


class Impact(models.TextChoices):
    NONE = "none", _("None")
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    CRITICAL = "critical", _("Critical")
    MAINTENANCE = "maintenance", _("Maintenance")


class Indicator(models.TextChoices):
    NONE = "none", _("All systems operational")
    MINOR = "minor", _("Minor service outage")
    MAJOR = "major", _("Partial system outage")
    CRITICAL = "critical", _("Major system outage")
    MAINTENANCE = "maintenance", _("Service under maintenance")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone; use a name like Europe/Amsterdam."),
            params={"value": value},
        )


hex_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # followed by six hex digits, like #0b6bcb.")
)


class Page(models.Model):
    """One public status page (for example IT services, or telephony) and its support desk."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    headline = models.CharField(
        _("headline"), max_length=200, blank=True, help_text=_("One line under the page name.")
    )
    custom_host = models.CharField(
        _("custom host name"),
        max_length=253,
        blank=True,
        help_text=_("Serve this page at / for this host, for example status.example.com."),
    )
    is_default = models.BooleanField(
        _("default page"),
        default=False,
        help_text=_("Shown at / on hosts that are no page's custom host."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Amsterdam", validators=[validate_time_zone]
    )
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    logo_url = models.URLField(_("logo URL"), blank=True)
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#0b5cad", validators=[hex_colour]
    )
    # The support desk: how customers reach people when the page does not answer their question.
    support_email = models.EmailField(_("support email"), blank=True)
    support_phone = models.CharField(_("support phone"), max_length=40, blank=True)
    after_hours_phone = models.CharField(_("after-hours phone"), max_length=40, blank=True)
    after_hours_audience = models.CharField(
        _("after-hours line is for"),
        max_length=200,
        blank=True,
        help_text=_("For example: contracts with 16x7 support."),
    )
    support_text = models.TextField(
        _("support notes"), blank=True, help_text=_("Free text shown in the support block.")
    )
    engineers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="status_pages",
        verbose_name=_("engineers"),
        help_text=_("Staff users who may manage this page. Superusers manage every page."),
    )
    # Maintenance reminders and uptime (issue 6).
    maintenance_reminder_hours = models.CharField(
        _("maintenance reminders"),
        max_length=64,
        default="24,1",
        blank=True,
        validators=[
            RegexValidator(
                r"^\s*(\d{1,4}\s*(,\s*\d{1,4}\s*)*)?$",
                _("Enter whole hours separated by commas, like 24,1."),
            )
        ],
        help_text=_(
            "Remind subscribers this many hours before maintenance starts (comma-separated, "
            "for example 24,1; empty for no reminders)."
        ),
    )
    uptime_excludes_maintenance = models.BooleanField(
        _("uptime excludes maintenance"),
        default=True,
        help_text=_("Time under maintenance does not count against a component's uptime."),
    )
    # Bumped by every change; the public snapshot is cached under (page, version).
    version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        constraints = [
            models.UniqueConstraint(
                fields=["custom_host"],
                condition=~Q(custom_host=""),
                name="page_custom_host_unique",
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_page"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.custom_host = self.custom_host.strip().lower().rstrip(".")

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def cache_key(self) -> str:
        """Names this page at its current version in caches; never reused by another page,
        even one that gets the same id after this one was deleted."""
        return f"{self.pk}.{self.created_at.timestamp():.6f}.{self.version}"

    @property
    def reminder_hours(self) -> list[int]:
        """The reminder lead times in hours, largest first (no duplicates, no zero)."""
        hours = {int(h) for h in self.maintenance_reminder_hours.split(",") if h.strip().isdigit()}
        return sorted((h for h in hours if h > 0), reverse=True)


class SupportHours(models.Model):
    """A weekly opening interval of the support desk or of the after-hours line."""

    class Line(models.TextChoices):
        OFFICE = "office", _("Support desk")
        AFTER_HOURS = "after_hours", _("After-hours line")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="support_hours", verbose_name=_("page")
    )
    line = models.CharField(_("line"), max_length=16, choices=Line.choices, default=Line.OFFICE)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(
        _("closes"), help_text=_("A closing time before the opening time means past midnight.")
    )

    class Meta:
        ordering = ["line", "weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="support_hours_weekday_range"
            ),
            models.CheckConstraint(condition=~Q(opens=models.F("closes")), name="hours_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class ComponentGroup(models.Model):
    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="groups", verbose_name=_("page")
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["page", "position", "id"]
        verbose_name = _("component group")
        verbose_name_plural = _("component groups")
        constraints = [
            models.UniqueConstraint(fields=["page", "name"], name="group_name_unique_per_page")
        ]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="components", verbose_name=_("page")
    )
    group = models.ForeignKey(
        ComponentGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="components",
        verbose_name=_("group"),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
    )
    is_visible = models.BooleanField(
        _("visible"), default=True, help_text=_("Hidden components never appear in public.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["page", "position", "id"]
        verbose_name = _("component")
        verbose_name_plural = _("components")
        constraints = [
            models.UniqueConstraint(
                fields=["page", "group", "name"], name="component_name_unique_per_group"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ComponentStatus.values), name="component_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group.name} › {self.name}" if self.group_id else self.name


class Incident(models.Model):
    """An incident, or a scheduled maintenance (kind), with its append-only update timeline."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", _("Incident")
        MAINTENANCE = "maintenance", _("Maintenance")

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="incidents", verbose_name=_("page")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INCIDENT)
    name = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=IncidentStatus.choices)
    impact = models.CharField(_("impact"), max_length=16, choices=Impact.choices)
    components = models.ManyToManyField(
        Component,
        through="IncidentComponent",
        related_name="incidents",
        verbose_name=_("affected components"),
        blank=True,
    )
    postmortem = models.TextField(_("postmortem"), blank=True)
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
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

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(_("status"), max_length=16, choices=IncidentStatus.choices)
    body = models.TextField(_("message"), help_text=_("Markdown."))
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

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="incident_templates", verbose_name=_("page")
    )
    name = models.CharField(_("template name"), max_length=120)
    title = models.CharField(_("incident title"), max_length=200)
    body = models.TextField(_("message"), help_text=_("Markdown."))
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


# ---------------------------------------------------------------------------------------------
# Outage playbook (issue 7): problem reports from customers and the early warning they raise.
# ---------------------------------------------------------------------------------------------

# The early-warning threshold and the on-call address are page settings. They are added here,
# in this section, so the Page class above stays as the foundation wrote it (same migration as
# fields written in the class body; the lead may move them there).
from django.utils.timezone import now as timezone_now  # noqa: E402

Page.add_to_class(
    "oncall_email",
    models.EmailField(
        _("on-call email"),
        blank=True,
        help_text=_("Alerted when customers report the same problem many times in a short time."),
    ),
)
Page.add_to_class(
    "report_alert_count",
    models.PositiveSmallIntegerField(
        _("alert after this many reports"),
        default=5,
        help_text=_("Reports about one component within the window that raise an alert."),
    ),
)
Page.add_to_class(
    "report_alert_window_minutes",
    models.PositiveSmallIntegerField(_("alert window (minutes)"), default=10),
)
Page.add_to_class(
    "report_alert_min_companies",
    models.PositiveSmallIntegerField(
        _("from at least this many companies"),
        default=3,
        help_text=_("Reports from one company count once towards this number."),
    ),
)


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


class ReportAlert(models.Model):
    """An early warning: many reports about one component in a short time. One per burst."""

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="report_alerts", verbose_name=_("page")
    )
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("raised"), default=timezone_now, db_index=True)
    # The burst goes on while reports keep coming within the window of the previous one.
    last_report_at = models.DateTimeField(_("last report"))
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
        return f"{self.component}: {self.report_count} reports"


# --- Maintenance, uptime and feeds (issue 6) -------------------------------------------------


class MaintenanceManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Incident.Kind.MAINTENANCE)


class Maintenance(Incident):
    """Scheduled maintenance: the incidents of kind "maintenance", with their own admin list."""

    objects = MaintenanceManager()

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


class ComponentDailyStatus(models.Model):
    """Seconds a component spent in each status on one day (a day in its page's time zone).

    `seconds` covers [start of day, covered_until); after that the component was `end_status`
    until something changed (which would have updated this row). Maintained by
    `incidents.services.uptime`.
    """

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="daily_statuses"
    )
    day = models.DateField()
    seconds = models.JSONField(default=dict)
    end_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    covered_until = models.DateTimeField()

    class Meta:
        ordering = ["component", "day"]
        verbose_name = _("component daily status")
        verbose_name_plural = _("component daily statuses")
        constraints = [
            models.UniqueConstraint(fields=["component", "day"], name="component_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.component} {self.day}"


# --- API keys and idempotency (the REST API, issue 3) ----------------------------------------


class APIKey(models.Model):
    """A key for the management API: shown once on creation, stored only as a hash.

    `prefix` (the first characters of the raw key) finds the row; the SHA-256 of the whole key
    proves it. No pages means every page.
    """

    class Scope(models.TextChoices):
        READ_WRITE = "read_write", _("Read and write")
        READ_ONLY = "read_only", _("Read only")

    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    scope = models.CharField(
        _("scope"), max_length=16, choices=Scope.choices, default=Scope.READ_WRITE
    )
    pages = models.ManyToManyField(
        Page,
        through="APIKeyPage",
        blank=True,
        related_name="api_keys",
        verbose_name=_("pages"),
        help_text=_("The pages this key may touch. None selected means every page."),
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"API key {self.name}"

    # DRF treats the authenticated key as the request's user.
    is_authenticated = True

    @property
    def is_read_only(self) -> bool:
        return self.scope == self.Scope.READ_ONLY


class APIKeyPage(models.Model):
    """A page a key is limited to. A page with limited keys cannot be deleted (PROTECT): were
    its last link to vanish, the key would silently become a key for every page."""

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey(
        Page, on_delete=models.PROTECT, related_name="+", verbose_name=_("page")
    )

    class Meta:
        verbose_name = _("API key page")
        verbose_name_plural = _("API key pages")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "page"], name="api_key_page_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} → {self.page_id}"


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an `Idempotency-Key`, replayed on a retry."""

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
