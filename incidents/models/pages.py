"""Status pages, their support desk's opening hours, component groups and components."""

from __future__ import annotations

import re
import zoneinfo
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import ComponentStatus
from .public_ids import PublicIdField


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone; use a name like Europe/Amsterdam."),
            params={"value": value},
        )


# A CSP source expression a page may name in frame-ancestors: *, 'self', or a scheme://host[:port]
# (the host may start with "*."). Nothing that could end the directive or add another.
FRAME_SOURCE = re.compile(r"^(\*|'self'|https?://(\*\.)?[a-z0-9.-]+(:[0-9]{1,5})?)$", re.IGNORECASE)


def validate_frame_ancestors(value: str) -> None:
    for source in value.split():
        if not FRAME_SOURCE.match(source):
            raise ValidationError(
                _(
                    "“%(source)s” is not a site; write origins like https://intranet.example.com "
                    "separated by spaces, or *."
                ),
                params={"source": source[:80]},
            )


hex_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # followed by six hex digits, like #0b6bcb.")
)


# The address the current request came to ("http://127.0.0.1:8300"), set while it is handled
# when SITE_URL is not configured (statuspage.middleware.RequestSiteUrlMiddleware).
request_site_url: ContextVar[str | None] = ContextVar("request_site_url", default=None)


def site_url() -> str:
    """The site's base URL without a trailing slash: the request's own address while one is
    handled and SITE_URL is not set, else SITE_URL."""
    return request_site_url.get() or settings.SITE_URL


def public_page_url(slug: str, custom_host: str = "", path: str = "") -> str:
    """The one rule for a page's public address: its own host when it has one (with
    the site's scheme), else <site>/p/<slug>/ (`site_url()`). `path` is relative to the page
    ("incidents/3/"). Snapshot dicts (handout, public JSON) call this; `Page.public_url` for
    model instances."""
    path = path.lstrip("/")
    base = site_url()
    if custom_host:
        scheme = base.split("://")[0] or "https"
        return f"{scheme}://{custom_host}/{path}"
    return f"{base}/p/{slug}/{path}"


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
    # Problem reports: the early warning's threshold and where it goes.
    oncall_email = models.EmailField(
        _("on-call email"),
        blank=True,
        help_text=_("Alerted when customers report the same problem many times in a short time."),
    )
    report_alert_count = models.PositiveSmallIntegerField(
        _("alert after this many reports"),
        default=5,
        help_text=_("Reports about one component within the window that raise an alert."),
    )
    report_alert_window_minutes = models.PositiveSmallIntegerField(
        _("alert window (minutes)"), default=10
    )
    report_alert_min_companies = models.PositiveSmallIntegerField(
        _("from at least this many companies"),
        default=3,
        help_text=_("Reports from one company count once towards this number."),
    )
    engineers: models.ManyToManyField = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        through="PageRole",
        related_name="status_pages",
        verbose_name=_("engineers"),
        help_text=_("Staff users with a role on this page. Superusers manage every page."),
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
    # Badges, the embeddable page and the widget (issue 15).
    embed_frame_ancestors = models.CharField(
        _("sites that may embed the page"),
        max_length=500,
        blank=True,
        default="*",
        validators=[validate_frame_ancestors],
        help_text=_(
            "Origins allowed to show /embed/ in a frame, separated by spaces, for example "
            "https://intranet.example.com. * allows every site; empty allows none."
        ),
    )
    # Bumped by every change; the public snapshot is cached under (page, version).
    version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        permissions = [("manage_page_hosts", _("Can set a page's custom host name"))]
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

    def public_url(self, path: str = "") -> str:
        """This page's public address (see `public_page_url`), used by emails, feeds, the
        handout, websocket payloads and the API."""
        return public_page_url(self.slug, self.custom_host, path)

    def clean(self):
        self.custom_host = self.custom_host.strip().lower().rstrip(".")

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def frame_ancestors(self) -> str:
        """The CSP `frame-ancestors` value for the embeddable page ('none' when empty)."""
        return " ".join(self.embed_frame_ancestors.split()) or "'none'"

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
    public_id = PublicIdField()
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


class Visibility(models.TextChoices):
    """Who may see a component (and the incidents about it)."""

    PUBLIC = "public", _("Everyone")
    CUSTOMERS = "customers", _("Only the customers it is assigned to")


class Component(models.Model):
    public_id = PublicIdField()
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
    visibility = models.CharField(
        _("visible to"),
        max_length=16,
        choices=Visibility.choices,
        default=Visibility.PUBLIC,
        help_text=_(
            "Customer-only components (like one customer's own line) and the incidents that "
            "touch only them are shown to the customers they are assigned to, and to nobody else."
        ),
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
            models.CheckConstraint(
                condition=Q(visibility__in=Visibility.values), name="component_visibility_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group.name} › {self.name}" if self.group else self.name

    @property
    def is_public(self) -> bool:
        return self.is_visible and self.visibility == Visibility.PUBLIC


class Role(models.TextChoices):
    """What an engineer may do on one page, each role including the ones before it."""

    VIEWER = "viewer", _("viewer (reads the admin)")
    RESPONDER = "responder", _("responder (incidents, maintenance, components' status, reports)")
    PAGE_MANAGER = (
        "page_manager",
        _("page manager (page settings, templates, subscribers, API keys, integrations)"),
    )

    @classmethod
    def at_least(cls, role: str) -> list[str]:
        """The roles that include `role` (a responder's rights are a page manager's too)."""
        order = list(cls.values)
        return order[order.index(role) :]


class PageRole(models.Model):
    """One engineer's role on one page (the table behind `Page.engineers`)."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="page_roles"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.RESPONDER)

    class Meta:
        # The table the plain many-to-many had: upgrading keeps every engineer (migration 0013).
        db_table = "incidents_page_engineers"
        unique_together = [("page", "user")]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return f"{self.user} · {self.page} · {self.get_role_display()}"
