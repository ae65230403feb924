"""The mail a problem report causes: the report to the support desk, a receipt to the reporter,
and the early warning to the on-call address, through Django's mail API.

The receipt goes to a customer: HTML in the page's branding, and text. The desk's mail is read
by an agent in a ticket system: plain text only (every ticket system shows it as sent), the
reference and the customer first, one field per line with the labels aligned, the description
as its own block, what the page showed, then the links."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents.hours import DeskState, Interval, desk_state
from incidents.models import ProblemReport, ReportAlert, SupportHours
from incidents.models.pages import site_url

log = logging.getLogger(__name__)


def page_address(page) -> str:
    """The public address of a page: its own host when it has one, else /p/<slug>/."""
    return page.public_url()


def _send(
    subject: str, template: str, context: dict, to: list[str], reply_to=None, html: bool = True
) -> bool:
    text = render_to_string(f"incidents/email/{template}.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # Django refuses line breaks in headers: no 500
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        reply_to=reply_to,
    )
    if html:
        message.attach_alternative(
            render_to_string(f"incidents/email/{template}.html", context), "text/html"
        )
    try:
        message.send()
    except Exception:  # the report is stored and shown in the admin whatever the mail does
        log.exception("Could not send %s to %s", template, to)
        return False
    return True


def _office(page) -> DeskState | None:
    """The support desk's state now (None: the page gives it no hours)."""
    intervals = [
        Interval(h.weekday, h.opens, h.closes)
        for h in page.support_hours.all()
        if h.line == SupportHours.Line.OFFICE
    ]
    return desk_state(intervals, page.tz, timezone.now()) if intervals else None


def _report_context(report: ProblemReport) -> dict:
    page = report.page
    shown = report.status_shown or {}
    return {
        "office": _office(page),
        "report": report,
        "page": page,
        "components": [c.name for c in report.components.all()],
        "shown": shown,
        "shown_incidents": shown.get("incidents", []),
        "page_url": page_address(page),
        "admin_url": f"{site_url()}/admin/incidents/problemreport/{report.pk}/change/",
        "received": timezone.localtime(report.created_at, page.tz),
    }


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    """`Label:  value` lines with the values in one column; a value's own line breaks (which
    one-line fields cannot hold, but stored rows might) are flattened."""
    width = max((len(label) for label, _value in rows), default=0) + 2
    return [f"{label + ':':<{width}}{' '.join(str(value).split())}" for label, value in rows]


def desk_fields(report: ProblemReport, components: list[str]) -> dict[str, list[str]]:
    """The desk mail's field blocks, in the active language."""
    return {
        "customer": aligned(
            [
                (_("Name"), report.contact_name),
                (_("Company"), report.company),
                (_("Email"), report.email),
                (_("Phone"), report.phone or "—"),
            ]
        ),
        "problem": aligned(
            [
                (_("Services"), ", ".join(components) or _("something else")),
                (_("Who is affected"), report.get_scope_display()),
                (_("Power"), report.get_has_power_display()),
                (_("Internet"), report.get_has_internet_display()),
                (_("Since when"), report.since),
            ]
        ),
    }


def send_report(report: ProblemReport) -> bool:
    """Mail the report to the page's support address and a receipt to the reporter.

    Returns whether support got it (a page without a support address: False)."""
    context = _report_context(report)
    page = report.page
    sent = False
    if page.support_email:
        with translation.override(page.default_language), timezone.override(page.tz):
            subject = _("Problem report %(reference)s: %(company)s, %(components)s") % {
                "reference": report.reference,
                "company": report.company,
                "components": ", ".join(context["components"]) or _("something else"),
            }
            context["fields"] = desk_fields(report, context["components"])
            context["description"] = [
                f"  {line}".rstrip() for line in report.description.strip().splitlines()
            ]
            sent = _send(
                subject,
                "report_support",
                context,
                [page.support_email],
                reply_to=[report.email],
                html=False,
            )
    with translation.override(report.language), timezone.override(page.tz):
        # Only the page's name (ours): the receipt carries no text the sender typed.
        subject = _("We received your report %(reference)s — %(page)s") % {
            "reference": report.reference,
            "page": page.name,
        }
        reply_to = [page.support_email] if page.support_email else None
        _send(subject, "report_receipt", context, [report.email], reply_to=reply_to)
    return sent


def send_alert(alert: ReportAlert) -> bool:
    """Mail the early warning to the page's on-call address (if it has one)."""
    page = alert.page
    if not page.oncall_email:
        return False
    names = ", ".join(c.name for c in alert.components.order_by("position", "id"))
    context = {
        "alert": alert,
        "page": page,
        "components": names,
        "window": page.report_alert_window_minutes,
        "admin_url": f"{site_url()}/admin/incidents/problemreport/?page__id__exact={page.pk}",
    }
    with translation.override(page.default_language):
        subject = _("Early warning: %(count)d reports about %(component)s") % {
            "count": alert.report_count,
            "component": names,
        }
        return _send(subject, "report_alert", context, [page.oncall_email])
