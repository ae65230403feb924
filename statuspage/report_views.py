"""The public "Report a problem" flow: pick services, see what is known, then report.

Three plain steps that work without JavaScript: step 1 (GET) picks components, step 2 shows the
open incidents and maintenance for them from the snapshot, step 3 is the form (POST, then a
redirect to the thank-you page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Answer, CustomerMember, Page, ProblemReport
from incidents.services import ServiceError
from incidents.services.audit import Actor
from incidents.services.customer_access import member_actor, member_for_user
from incidents.services.reports import LIMITS, submit_report
from incidents.snapshot import page_snapshot
from incidents.snapshot_types import IncidentView, PageSnapshot

from .pages import client_ip, page_view
from .views import page_context

OTHER = "other"
MAX_BODY_BYTES = 32_000
RESOLVED_RECENTLY = dt.timedelta(hours=24)


def component_choices(snapshot: PageSnapshot) -> list[tuple[str, list[tuple[str, str]]]]:
    """The page's visible components, grouped as the page shows them: [(group, [(id, name)])]."""
    components = snapshot.components
    groups = snapshot.groups_by_id()
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    loose: list[tuple[str, str]] = []
    for item in snapshot.layout:
        if item.type == "group":
            group = groups[item.id]
            members = [(str(i), components[i].name) for i in group.components]
            sections.append((group.name, members))
        else:
            loose.append((str(item.id), components[item.id].name))
    if loose:
        sections.append(("", loose))
    return sections


def picked_components(
    request_data: QueryDict, snapshot: PageSnapshot, own: Iterable[tuple[str, str]] = ()
) -> tuple[list[int], bool]:
    """Component ids picked in the request that the page shows (or that are the signed-in
    customer's own, `own`), and whether "other" was."""
    own_ids = {value for value, _name in own}
    ids: list[int] = []
    for value in request_data.getlist("component"):
        pk = int(value) if value in own_ids else snapshot.component_id(value)
        if pk is not None and pk not in ids:
            ids.append(pk)
    return ids, OTHER in request_data.getlist("component")


class ReportForm(forms.Form):
    component = forms.MultipleChoiceField(
        label=_("Which service is it about?"),
        error_messages={"required": _("Pick at least one service, or “Something else”.")},
    )
    scope = forms.ChoiceField(
        label=_("Who is affected?"),
        choices=ProblemReport.Scope.choices,
        error_messages={"required": _("Say whether it affects one person, several or everyone.")},
    )
    has_power = forms.ChoiceField(
        label=_("Is there power?"),
        choices=Answer.choices,
        error_messages={"required": _("Say whether there is power (or that you don't know).")},
    )
    has_internet = forms.ChoiceField(
        label=_("Is there internet?"),
        choices=Answer.choices,
        error_messages={"required": _("Say whether there is internet (or that you don't know).")},
    )
    since = forms.CharField(
        label=_("Since when?"),
        max_length=LIMITS["since"],
        help_text=_("For example: today since 09:40, or since Monday morning."),
        error_messages={"required": _("Tell us since when you have the problem.")},
    )
    description = forms.CharField(
        label=_("What goes wrong?"),
        max_length=LIMITS["description"],
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What you tried to do, what happened, any error message you saw."),
        error_messages={"required": _("Describe the problem in a few sentences.")},
    )
    contact_name = forms.CharField(
        label=_("Your name"),
        max_length=LIMITS["contact_name"],
        error_messages={"required": _("Enter your name.")},
    )
    company = forms.CharField(
        label=_("Company"),
        max_length=LIMITS["company"],
        error_messages={"required": _("Enter your company's name.")},
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=LIMITS["email"],
        error_messages={
            "required": _("Enter your email address, so we can answer you."),
            "invalid": _("Enter an email address like name@example.com."),
        },
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=LIMITS["phone"],
        help_text=_("A number we can reach you on now."),
        error_messages={"required": _("Enter a phone number we can reach you on.")},
    )
    # Spam trap: hidden from people (and screen readers); bots fill every field.
    website = forms.CharField(required=False, max_length=200)

    def __init__(
        self,
        *args: Any,
        snapshot: PageSnapshot,
        own: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [c for _group, members in component_choices(snapshot) for c in members]
        cast(forms.ChoiceField, self.fields["component"]).choices = [
            *choices,
            *(own or []),
            (OTHER, _("Something else")),
        ]
        for field in self.fields.values():
            field.error_messages["max_length"] = _(
                "This is too long: at most %(limit_value)d characters."
            )


def _known(snapshot: PageSnapshot, ids: list[int], other: bool) -> dict[str, Any]:
    """What the page knows about the picked components: open items and recent resolutions."""
    wanted = set(ids)

    def touches(incident: IncidentView) -> bool:
        return bool(wanted & {c.id for c in incident.components}) or (
            other and incident.kind == "incident" and not incident.components
        )

    unresolved = snapshot.incidents_of(snapshot.unresolved_ids)
    since = (timezone.now() - RESOLVED_RECENTLY).isoformat()[:19]
    return {
        "open": [i for i in unresolved if touches(i) or (other and not wanted)],
        "maintenance": [
            i for i in snapshot.incidents_of(snapshot.active_maintenance_ids) if touches(i)
        ],
        "upcoming": [
            i for i in snapshot.incidents_of(snapshot.upcoming_maintenance_ids) if touches(i)
        ],
        "resolved": [
            i
            for i in snapshot.incidents_of(snapshot.recent_incident_ids)
            if i.status == "resolved" and (i.resolved_at or "") >= since and touches(i)
        ],
        "picked": [snapshot.components[i] for i in ids],
        "names": ", ".join(snapshot.components[i].name for i in ids),
        "other": other,
    }


def _query(ids: list[int], other: bool) -> str:
    parts = [f"component={i}" for i in ids] + ([f"component={OTHER}"] if other else [])
    return "&".join(parts)


def _render(request, page: Page, snapshot: PageSnapshot, template: str, status: int = 200, **extra):
    context = page_context(request, page, snapshot)
    context.update(extra)
    with timezone.override(page.tz):
        return render(request, f"statuspage/report/{template}", context, status=status)


@page_view
def pick(request, page: Page):
    """Step 1: which services is it about?"""
    snapshot = page_snapshot(page)
    member = signed_in_customer(request)
    own = own_components(member, page, snapshot)
    ids, other = picked_components(request.GET, snapshot, own)
    return _render(
        request,
        page,
        snapshot,
        "pick.html",
        sections=component_choices(snapshot) + ([(_("Your own services"), own)] if own else []),
        checked={str(i) for i in ids} | ({OTHER} if other else set()),
        customer_member=member,
    )


@page_view
def known(request, page: Page):
    """Step 2: what is known right now about the picked services."""
    snapshot = page_snapshot(page)
    member = signed_in_customer(request)
    own = own_components(member, page, snapshot)
    ids, other = picked_components(request.GET, snapshot, own)
    if not ids and not other:
        return _render(
            request,
            page,
            snapshot,
            "pick.html",
            status=400,
            sections=component_choices(snapshot) + ([(_("Your own services"), own)] if own else []),
            checked=set(),
            error=_("Pick at least one service, or “Something else”."),
            customer_member=member,
        )
    public_ids = [i for i in ids if i in snapshot.components]
    found = _known(snapshot, public_ids, other)
    if member is not None:
        _add_own(found, member, ids)
    return _render(
        request,
        page,
        snapshot,
        "known.html",
        known=found,
        listed=bool(found["open"] or found["maintenance"] or found.get("own_open")),
        query=_query(ids, other),
    )


def _add_own(found: dict[str, Any], member: CustomerMember, ids: list[int]) -> None:
    """What the signed-in customer's view knows beyond the public page about the picked
    services: its customer-only services and the incidents and maintenance on them."""
    from .customer_view import build_customer_view

    view = build_customer_view(member.customer)
    wanted = set(ids)
    services = {s.component.id: s.component for p in view.pages for s in p.services}
    shown = {c.id for c in found["picked"]}
    found["picked"] += [services[i] for i in ids if i in services and i not in shown]
    found["names"] = ", ".join(c.name for c in found["picked"])
    listed = {i.id for key in ("open", "maintenance", "upcoming") for i in found[key]}

    def own(items):
        return [i for i in items if i.id not in listed and wanted & {c.id for c in i.components}]

    found["own_open"] = own(view.unresolved) + own(view.active_maintenance)
    found["own_upcoming"] = own(view.upcoming_maintenance)


def signed_in_customer(request) -> CustomerMember | None:
    """The customer person signed in on this browser (None for everyone else)."""
    return member_for_user(getattr(request, "user", None))


def own_components(member: CustomerMember | None, page: Page, snapshot: PageSnapshot):
    """The signed-in customer's services on this page that the public page does not list."""
    if member is None:
        return []
    own = member.customer.components.filter(page=page, is_visible=True).exclude(
        pk__in=list(snapshot.components)
    )
    return [(str(c.pk), c.name) for c in own.order_by("position", "id")]


@page_view
def report_form(request, page: Page):
    """Step 3: the report itself. POST stores it, mails it, and redirects to a thank-you page.
    A signed-in customer's report is attached to its company (prefilled, and may name its own
    customer-only services)."""
    snapshot = page_snapshot(page)
    member = signed_in_customer(request)
    own = own_components(member, page, snapshot)
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            return HttpResponse(_("This report is too large."), status=413)
        form = ReportForm(request.POST, snapshot=snapshot, own=own)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            if data["website"]:  # the spam trap: answer as if it worked, store nothing
                return HttpResponseRedirect(f"{request.page_prefix}report/sent/")
            try:
                submit_report(
                    page,
                    components=[int(c) for c in data["component"] if c != OTHER],
                    scope=data["scope"],
                    has_power=data["has_power"],
                    has_internet=data["has_internet"],
                    since=data["since"],
                    description=data["description"],
                    contact_name=data["contact_name"],
                    company=data["company"],
                    email=data["email"],
                    phone=data["phone"],
                    language=request.LANGUAGE_CODE,
                    ip=client_ip(request),
                    snapshot=snapshot,
                    actor=Actor.visitor() if member is None else member_actor(member),
                    customer=member.customer if member is not None else None,
                )
            except ServiceError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
                status = 429 if error.code == "rate_limited" else 400
            else:
                return HttpResponseRedirect(f"{request.page_prefix}report/sent/")
    else:
        ids, other = picked_components(request.GET, snapshot, own)
        initial: dict[str, Any] = {"component": [str(i) for i in ids] + ([OTHER] if other else [])}
        if member is not None:
            initial.update(company=member.customer.name, email=member.email)
        form = ReportForm(initial=initial, snapshot=snapshot, own=own)
        status = 200
    checked = set(form["component"].value() or [])
    return _render(
        request,
        page,
        snapshot,
        "form.html",
        status=status,
        form=form,
        sections=component_choices(snapshot) + ([(_("Your own services"), own)] if own else []),
        checked=checked,
        other=OTHER,
    )


@page_view
def sent(request, page: Page):
    """After a report: thanks, and what happens next."""
    return _render(request, page, page_snapshot(page), "sent.html")
