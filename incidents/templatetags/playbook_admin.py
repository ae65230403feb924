"""Admin template helpers of the outage playbook: the early-warning banner."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from incidents.models import ReportAlert
from incidents.permissions import pages_for

register = template.Library()


def alerts_for(user):
    """Unacknowledged early warnings on the pages a user manages, newest first."""
    return (
        ReportAlert.objects.filter(page__in=pages_for(user), acknowledged_at__isnull=True)
        .select_related("page")
        .prefetch_related("components")
        .order_by("-created_at")[:20]
    )


@register.inclusion_tag("admin/incidents/report_alert_banner.html", takes_context=True)
def report_alert_banner(context):
    user = context["request"].user
    return {
        "alerts": list(alerts_for(user)),
        "pages": list(pages_for(user).values("slug", "name")),
        "CSP_NONCE": context.get("CSP_NONCE", ""),
    }


@register.inclusion_tag("admin/incidents/board.html", takes_context=True)
def status_board(context):
    """The status board on the admin index (incidents/admin/board.py)."""
    from incidents.admin.board import BOARD_STATUSES
    from incidents.admin.board import status_board as boards_for

    request = context["request"]
    return {
        "boards": boards_for(request.user),
        "board_statuses": BOARD_STATUSES,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "CSP_NONCE": context.get("CSP_NONCE", ""),
    }


@register.filter
def zoned(value):
    """A moment recorded as ISO text (audit rows' before/after) in the active zone with its
    abbreviation; anything else as it is."""
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value:
        moment = parse_datetime(value.replace("Z", "+00:00"))
        if moment is not None and timezone.is_aware(moment):
            return date_format(timezone.localtime(moment), "j M Y H:i:s T")
    return value
