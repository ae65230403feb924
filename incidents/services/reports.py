"""Writes for customers' problem reports: store one (and mail it), link reports to incidents,
open an incident from a group of reports, and raise the early warning once per burst."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents.models import (
    Answer,
    Component,
    ComponentStatus,
    Customer,
    Incident,
    Page,
    ProblemReport,
    ReportAlert,
)
from incidents.models.pages import request_site_url, site_url

from .. import visibility
from ..ratelimit import take_attempt
from ..snapshot_types import PageSnapshot
from . import audit
from .audit import intent
from .base import ServiceError
from .incidents import open_incident

# (reports, seconds): how often one address (IP) and one email address may report.
RATE_PER_IP = (5, 3600)
RATE_PER_EMAIL = (3, 3600)
LIMITS = {
    "since": 100,
    "description": 5000,
    "contact_name": 120,
    "company": 120,
    "email": 254,
    "phone": 40,
}
# Components one report may name: a customer reports what they use, not the whole page.
MAX_COMPONENTS = 10


def hash_ip(ip: str) -> str:
    """A keyed hash of an address: one sender's reports can be grouped, the address not read."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, (ip or "").encode(), hashlib.sha256).hexdigest()


def _clean(value: Any, *, field: str, label: str, required: bool = True) -> str:
    value = " ".join(str(value or "").split()) if field != "description" else str(value or "")
    value = value.strip()
    if required and not value:
        raise ServiceError(
            _("%(label)s is required.") % {"label": label}, code="required", field=field
        )
    if len(value) > LIMITS[field]:
        raise ServiceError(
            _("%(label)s is too long: %(length)d characters, at most %(limit)d.")
            % {"label": label, "length": len(value), "limit": LIMITS[field]},
            code="too_long",
            field=field,
        )
    return value


def _choice(value: str, choices: Iterable[str], *, field: str, label: str) -> str:
    if value not in choices:
        raise ServiceError(
            _("Choose an answer for “%(label)s”.") % {"label": label}, code="invalid", field=field
        )
    return value


def status_shown(snapshot: PageSnapshot, component_ids: Iterable[int]) -> dict[str, Any]:
    """What the status page showed about these components: indicator and the open items."""
    wanted = {int(i) for i in component_ids}
    live = (
        snapshot.unresolved_ids
        + snapshot.active_maintenance_ids
        + snapshot.upcoming_maintenance_ids
    )
    items = []
    for incident in snapshot.incidents_of(live):
        touches = {c.id for c in incident.components}
        if wanted & touches or (not wanted and incident.kind == "incident"):
            items.append(
                {
                    "id": incident.id,
                    "name": incident.name,
                    "kind": incident.kind,
                    "status": incident.status,
                    "impact": incident.impact,
                }
            )
    return {
        "indicator": snapshot.indicator,
        "version": snapshot.version,
        "generated_at": snapshot.generated_at,
        "components": {
            str(i): snapshot.components[i].status
            for i in sorted(wanted)
            if i in snapshot.components
        },
        "incidents": items,
    }


@intent("report_problem")
def submit_report(
    page: Page,
    *,
    components: Iterable[int | Component],
    scope: str,
    has_power: str,
    has_internet: str,
    since: str,
    description: str,
    contact_name: str,
    company: str,
    email: str,
    phone: str,
    language: str = "en",
    ip: str = "",
    snapshot: PageSnapshot | None = None,
    actor: Any = None,
    customer: Customer | None = None,
) -> ProblemReport:
    """Store a customer's report, mail it to support with a receipt to the reporter (after
    commit), and check the page's early-warning threshold.

    Refuses unknown or hidden components, missing answers, over-long text and senders over the
    rate limit (per IP and per email address) with a ServiceError naming the field.
    `customer` is the signed-in customer's company: the report is attached to it, and it may
    name that customer's own (customer-only) components of the page too.
    """
    from incidents.snapshot import page_snapshot

    ids = set()
    for item in components:
        try:
            ids.add(int(item.pk if isinstance(item, Component) else item))
        except (TypeError, ValueError):
            raise ServiceError(
                _("“%(id)s” is not a component id.") % {"id": item},
                code="unknown_component",
                field="components",
            ) from None
    if len(ids) > MAX_COMPONENTS:
        raise ServiceError(
            _("Pick at most %(count)d services; if everything fails, pick the main ones.")
            % {"count": MAX_COMPONENTS},
            code="too_many_components",
            field="components",
        )
    on_page = Component.objects.filter(page=page, pk__in=ids)
    allowed = (
        visibility.components_visible_to(customer, on_page)
        if customer is not None
        else visibility.public_components(on_page)
    )
    found = list(allowed)
    if len(found) != len(ids):
        raise ServiceError(
            _("One of the services you picked is not on this page any more; pick again."),
            code="unknown_component",
            field="components",
        )
    fields = {
        "scope": _choice(
            scope, ProblemReport.Scope.values, field="scope", label=_("Who is affected")
        ),
        "has_power": _choice(has_power, Answer.values, field="has_power", label=_("Power")),
        "has_internet": _choice(
            has_internet, Answer.values, field="has_internet", label=_("Internet")
        ),
        "since": _clean(since, field="since", label=_("Since when")),
        "description": _clean(description, field="description", label=_("A description")),
        "contact_name": _clean(contact_name, field="contact_name", label=_("Your name")),
        "company": _clean(company, field="company", label=_("Company")),
        "email": _clean(email, field="email", label=_("Email")).lower(),
        "phone": _clean(phone, field="phone", label=_("Phone")),
    }
    try:
        validate_email(fields["email"])
    except Exception:
        raise ServiceError(
            _("Enter an email address like name@example.com."), code="invalid", field="email"
        ) from None
    ip_hash = hash_ip(ip)
    if not take_attempt(f"report-rate:ip:{ip_hash}", *RATE_PER_IP) or not take_attempt(
        f"report-rate:email:{hash_ip(fields['email'])}", *RATE_PER_EMAIL
    ):
        raise ServiceError(
            _(
                "You have sent several reports in a short time. We have them; "
                "please wait an hour before sending another, or call us."
            ),
            code="rate_limited",
        )
    snapshot = snapshot or page_snapshot(page)
    report = ProblemReport.objects.create(
        page=page,
        language=language if language in dict(settings.LANGUAGES) else page.default_language,
        ip_hash=ip_hash,
        status_shown=status_shown(snapshot, ids),
        created_at=timezone.now(),
        customer=customer,
        **fields,
    )
    report.components.set(found)
    audit.note("components", [c.public_id for c in found])
    check_report_threshold(page, [c.pk for c in found], now=report.created_at)
    report_id, site = report.pk, site_url()
    transaction.on_commit(lambda: _mail_report(report_id, site))
    return report


def _mail_report(report_id: int, site: str) -> None:
    """Mail the report and the receipt with links to the site it was made on (`site_url()`
    while the request was handled)."""
    from incidents import report_mail

    report = ProblemReport.objects.select_related("page").get(pk=report_id)
    token = request_site_url.set(site)
    try:
        if report_mail.send_report(report):
            ProblemReport.objects.filter(pk=report_id).update(support_emailed_at=timezone.now())
    finally:
        request_site_url.reset(token)


@transaction.atomic
def check_report_threshold(
    page: Page, component_ids: Iterable[int], *, now: dt.datetime | None = None
) -> list[ReportAlert]:
    """Raise the page's early warning when reports about a component within the page's window
    reach its threshold (count and distinct companies).

    One alert per page and burst, counting reports (one report naming ten components is one
    report): while reports keep coming within the window of the last one, the open alert is
    extended and lists each component that crosses the threshold, with no new mail. Returns
    the new alerts (zero or one); a new one is emailed to the on-call address after commit.
    """
    now = now or timezone.now()
    window = dt.timedelta(minutes=page.report_alert_window_minutes)
    # Lock the page so two reports arriving together cannot both raise the alert.
    Page.objects.select_for_update().filter(pk=page.pk).first()
    recent = ProblemReport.objects.filter(
        page=page, created_at__gt=now - window, created_at__lte=now
    )
    # Known customers among the senders, by normalized name: a guest who types "ACME b.v."
    # while Acme's people report signed in is the same company.
    known = {
        _normal(name): pk
        for pk, name in Customer.objects.filter(
            pk__in=recent.exclude(customer=None).values("customer_id")
        ).values_list("pk", "name")
    }
    hot = []
    for component in Component.objects.filter(page=page, pk__in=list(component_ids)):
        senders = list(recent.filter(components=component).values_list("customer_id", "company"))
        if (
            len(senders) >= page.report_alert_count
            and len(distinct_companies(senders, known)) >= page.report_alert_min_companies
        ):
            hot.append(component)
    if not hot:
        return []
    reports = list(
        recent.filter(components__in=hot).distinct().values_list("pk", "customer_id", "company")
    )
    company_names = distinct_companies(
        [(customer, company) for _pk, customer, company in reports], known
    )
    ongoing = (
        ReportAlert.objects.filter(page=page, last_report_at__gte=now - window)
        .order_by("-last_report_at")
        .first()
    )
    if ongoing is not None:
        ongoing.last_report_at = max(ongoing.last_report_at, now)
        ongoing.report_count = max(ongoing.report_count, len(reports))
        ongoing.company_count = max(ongoing.company_count, len(company_names))
        ongoing.save(update_fields=["last_report_at", "report_count", "company_count"])
        ongoing.components.add(*hot)
        return []
    alert = ReportAlert.objects.create(
        page=page,
        created_at=now,
        last_report_at=now,
        report_count=len(reports),
        company_count=len(company_names),
        emailed_to=page.oncall_email,
    )
    alert.components.set(hot)
    alert_id = alert.pk
    transaction.on_commit(lambda: _mail_alert(alert_id))
    return [alert]


def _normal(name: str) -> str:
    return " ".join(name.lower().split())


def distinct_companies(
    senders: Iterable[tuple[int | None, str]], known: dict[str, int] | None = None
) -> set[int | str]:
    """The distinct companies among (customer id, company typed) pairs: a signed-in customer's
    reports count as that customer whatever name was typed; others by the normalized name, or
    as the customer of that name in `known`."""
    known = known or {}
    found: set[int | str] = set()
    for customer, company in senders:
        name = _normal(company)
        found.add(customer or known.get(name) or f"name:{name}")
    return found


def _mail_alert(alert_id: int) -> None:
    from incidents import report_mail

    report_mail.send_alert(ReportAlert.objects.select_related("page").get(pk=alert_id))


@intent("acknowledge_alert")
@transaction.atomic
def acknowledge_alert(alert: ReportAlert, *, actor: Any) -> ReportAlert:
    """Mark an early warning as seen, so the admin banner stops showing it."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor if getattr(actor, "pk", None) else None
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


@intent("link_report_to_incident")
@transaction.atomic
def link_report_to_incident(
    report: ProblemReport, incident: Incident | None, *, actor: Any
) -> ProblemReport:
    """Link a report to an incident of the same page (or unlink it with None)."""
    if incident is not None and incident.page_id != report.page_id:
        raise ServiceError(
            _("That incident belongs to another page."), code="invalid", field="incident"
        )
    report.incident = incident
    ProblemReport.objects.filter(pk=report.pk).update(incident=incident)
    return report


@intent("open_incident_from_reports")
@transaction.atomic
def open_incident_from_reports(
    reports: Iterable[ProblemReport],
    *,
    actor: Any,
    name: str = "",
    body: str = "",
    component_status: str = ComponentStatus.PARTIAL_OUTAGE,
    impact: str | None = None,
) -> Incident:
    """Open one incident for a group of reports of one page, on the components they name (at
    `component_status`), and link the reports to it. Title and message default to a sentence
    in the page's language. Emits `incident.created` through `open_incident`."""
    reports = list(reports)
    if not reports:
        raise ServiceError(_("Select at least one report."), code="required", field="reports")
    pages = {r.page_id for r in reports}
    if len(pages) > 1:
        raise ServiceError(
            _("The selected reports belong to different pages; select reports of one page."),
            code="invalid",
            field="reports",
        )
    page = reports[0].page
    components = list(
        Component.objects.filter(problem_reports__in=reports).distinct().order_by("position", "id")
    )
    with translation.override(page.default_language):
        names = ", ".join(c.name for c in components)
        if not name:
            name = (
                _("Disruption of %(components)s") % {"components": names}
                if names
                else _("Disruption reported by customers")
            )
        if not body:
            body = _(
                "Customers report problems%(with)s. We are investigating and will post an "
                "update here."
            ) % {"with": _(" with %(components)s") % {"components": names} if names else ""}
    incident = open_incident(
        page,
        actor=actor,
        name=name,
        body=body,
        impact=impact,
        components={c.pk: component_status for c in components},
    )
    ProblemReport.objects.filter(pk__in=[r.pk for r in reports]).update(incident=incident)
    return incident
