"""Times in the admin are the page's wall-clock time with its abbreviation ("09:12 CET"), as the
public page shows them, never a bare UTC time.

Each admin request runs in the zone of the engineer's pages (the default page's when they
differ); an object's own page (its form, its timeline) and a list filtered on one page use that
page's zone. Datetime inputs say which zone they read, and Django parses what is typed in the
active zone, so a time typed as the page shows it is stored as the moment it means.
"""

from __future__ import annotations

import zoneinfo
from contextlib import suppress

from django.conf import settings
from django.contrib.admin.widgets import AdminSplitDateTime
from django.urls import reverse
from django.utils import timezone

from incidents.models import Page
from incidents.permissions import pages_for
from statuspage.middleware import database_unavailable_response


def zone_label(tz: zoneinfo.ZoneInfo | None = None) -> str:
    """The zone as engineers read it: "CET (Europe/Amsterdam)" (the abbreviation of now)."""
    tz = tz or timezone.get_current_timezone()
    abbreviation = timezone.localtime(timezone.now(), tz).tzname() or ""
    key = getattr(tz, "key", str(tz))
    return f"{abbreviation} ({key})" if abbreviation and abbreviation != key else key


def zone_for(user) -> zoneinfo.ZoneInfo:
    """The zone of the user's pages: the default page's first, else the oldest page's."""
    zone = pages_for(user).order_by("-is_default", "pk").values_list("time_zone", flat=True).first()
    with suppress(zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        if zone:
            return zoneinfo.ZoneInfo(zone)
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def activate_page_zone(page: Page | None) -> None:
    """Show and read times of this page's objects in its zone for the rest of the request."""
    if page is not None:
        timezone.activate(page.tz)


class AdminTimeZoneMiddleware:
    """Activate the engineer's pages' zone on admin requests (public pages set their own)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._prefix: str | None = None

    def __call__(self, request):
        if self._prefix is None:
            self._prefix = reverse("admin:index")
        if not request.path.startswith(self._prefix):
            return self.get_response(request)
        try:
            # Reads the session's user and their pages: with the database down, the admin's
            # readable 503 (PartUnavailableMiddleware only sees the views' exceptions).
            user = getattr(request, "user", None)
            if not getattr(user, "is_staff", False):
                return self.get_response(request)
            zone = zone_for(user)
        except Exception as exc:
            response = database_unavailable_response(request, exc)
            if response is None:
                raise
            return response
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ZonedSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, saying which zone they are in."""

    template_name = "admin/widgets/zoned_split_datetime.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["zone_label"] = zone_label()
        return context
