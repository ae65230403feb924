"""`/pages/{page_id}/incidents`: incidents and maintenance, their lists and updates."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from incidents import services
from incidents.models import (
    MAINTENANCE_STATUSES,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)

from .. import serializers as s
from ..idempotency import idempotent
from .base import (
    IDEMPOTENCY,
    PAGING,
    READ_ERRORS,
    WRITE_ERRORS,
    ManageView,
    incidents_of,
)


class IncidentMixin(ManageView):
    def component_statuses(self, data: dict, *, maintenance: bool) -> dict[int, str]:
        """`components` (id → status) plus `component_ids` (their current status, or under
        maintenance for maintenance), by database id; an id of no component of this page is
        refused."""
        given = dict(data.get("components") or {})
        listed = [i for i in data.get("component_ids") or [] if i not in given]
        found = self.components_by_id([*given, *listed], field="components")
        statuses = {found[i].pk: status for i, status in given.items()}
        for i in listed:
            component = found[i]
            if component.pk not in statuses:
                statuses[component.pk] = "under_maintenance" if maintenance else component.status
        return statuses

    def respond(self, incident: Incident, code: int = 200) -> Response:
        incident = incidents_of(self.page).get(pk=incident.pk)
        return Response(s.IncidentSerializer(incident, context=self.context()).data, status=code)


def _search(queryset, q: str):
    if "\x00" in q or len(q) > 200:
        raise exceptions.ValidationError({"q": ["Send at most 200 characters of text."]})
    in_updates = IncidentUpdate.objects.filter(incident=OuterRef("pk"), body__icontains=q)
    return queryset.filter(
        Q(name__icontains=q) | Q(status=q) | Q(postmortem__icontains=q) | Exists(in_updates)
    )


class IncidentList(IncidentMixin, ManageView):
    @extend_schema(
        operation_id="getIncidents",
        parameters=[
            OpenApiParameter("q", str, description="Text to find in names, statuses, updates."),
            OpenApiParameter("limit", int, description="Same as per_page (Statuspage's name)."),
            *PAGING,
        ],
        responses={200: s.IncidentSerializer(many=True), **READ_ERRORS},
        tags=["Incidents"],
    )
    def get(self, request, page_id):
        incidents = incidents_of(self.page).order_by("-created_at", "-id")
        q = request.query_params.get("q", "").strip()
        if q:
            incidents = _search(incidents, q)
        incidents = self.paginate(incidents)
        return Response(s.IncidentSerializer(incidents, many=True, context=self.context()).data)

    @extend_schema(
        operation_id="postIncident",
        request=s.IncidentBody,
        parameters=[IDEMPOTENCY],
        responses={201: s.IncidentSerializer, **WRITE_ERRORS},
        tags=["Incidents"],
    )
    @idempotent
    def post(self, request, page_id):
        data = self.read(s.IncidentBody)["incident"]
        page, actor = self.page, request.auth
        status_ = data.get("status")
        maintenance = (
            data.get("scheduled_for") is not None
            or data.get("scheduled_until") is not None
            or status_ in MAINTENANCE_STATUSES
        )
        statuses = self.component_statuses(data, maintenance=maintenance)
        notify = data.get("deliver_notifications", True)
        with transaction.atomic():
            if maintenance:
                incident = services.schedule_maintenance(
                    page,
                    actor=actor,
                    name=data["name"],
                    body=data.get("body", ""),
                    scheduled_for=data.get("scheduled_for"),
                    scheduled_until=data.get("scheduled_until"),
                    components=statuses,
                    auto_start=data.get("scheduled_auto_in_progress", True),
                    auto_complete=data.get("scheduled_auto_completed", True),
                    deliver_notifications=notify,
                    status=status_ or IncidentStatus.SCHEDULED,
                    name_translations=data.get("name_translations"),
                    body_translations=data.get("body_translations"),
                )
            else:
                status_ = status_ or IncidentStatus.INVESTIGATING
                incident = services.open_incident(
                    page,
                    actor=actor,
                    name=data["name"],
                    body=data.get("body", ""),  # the service posts the default text
                    status=status_,
                    impact=data.get("impact_override"),
                    components=statuses,
                    deliver_notifications=notify,
                    name_translations=data.get("name_translations"),
                    body_translations=data.get("body_translations"),
                )
        return self.respond(incident, status.HTTP_201_CREATED)


class IncidentSubList(ManageView):
    """The Statuspage shortcuts: unresolved, upcoming, active maintenance, scheduled."""

    filters = {
        "unresolved": Q(kind=Incident.Kind.INCIDENT) & ~Q(status=IncidentStatus.RESOLVED),
        "upcoming": Q(kind=Incident.Kind.MAINTENANCE, status=IncidentStatus.SCHEDULED),
        "active_maintenance": Q(
            kind=Incident.Kind.MAINTENANCE,
            status__in=[IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING],
        ),
        "scheduled": Q(kind=Incident.Kind.MAINTENANCE),
    }
    which = "unresolved"

    def get(self, request, page_id):
        incidents = incidents_of(self.page).filter(self.filters[self.which])
        if self.which == "unresolved":
            incidents = incidents.order_by("-created_at", "-id")
        else:
            incidents = incidents.order_by("-scheduled_for", "-id")
        incidents = self.paginate(incidents)
        return Response(s.IncidentSerializer(incidents, many=True, context=self.context()).data)


def _sub_list(which: str, operation_id: str, summary: str):
    def get(self, request, page_id):
        return IncidentSubList.get(self, request, page_id)

    get = extend_schema(
        operation_id=f"getIncidents{operation_id}",
        summary=summary,
        parameters=PAGING,
        responses={200: s.IncidentSerializer(many=True), **READ_ERRORS},
        tags=["Incidents"],
    )(get)
    return type(
        f"Incidents{operation_id}",
        (IncidentSubList,),
        {"which": which, "__doc__": summary, "get": get},
    )


UnresolvedIncidents = _sub_list("unresolved", "Unresolved", "Unresolved incidents.")


class IncidentDetail(IncidentMixin, ManageView):
    def incident(self, incident_id) -> Incident:
        return self.object_or_404(incidents_of(self.page), incident_id)

    @extend_schema(
        operation_id="getIncident",
        responses={200: s.IncidentSerializer, **READ_ERRORS},
        tags=["Incidents"],
    )
    def get(self, request, page_id, incident_id):
        return Response(
            s.IncidentSerializer(self.incident(incident_id), context=self.context()).data
        )

    @extend_schema(
        operation_id="patchIncident",
        description=(
            "A new `status`, `body` or `components` posts an update (a resolved incident given "
            "an open status is reopened); `name` and `impact_override` change the incident; "
            "`scheduled_for`/`scheduled_until` move a maintenance window."
        ),
        request=s.IncidentBody,
        responses={200: s.IncidentSerializer, **WRITE_ERRORS},
        tags=["Incidents"],
    )
    def patch(self, request, page_id, incident_id):
        incident = self.incident(incident_id)
        data = self.read(s.IncidentBody, partial=True).get("incident", {})
        with transaction.atomic():
            self.apply(incident, data)
        return self.respond(incident)

    def apply(self, incident: Incident, data: dict) -> None:
        services.update_incident(
            incident,
            actor=self.request.auth,
            name=data.get("name"),
            impact=data.get("impact_override"),
            status=data.get("status"),
            body=data.get("body", ""),
            components=self.component_statuses(data, maintenance=incident.is_maintenance),
            scheduled_for=data.get("scheduled_for"),
            scheduled_until=data.get("scheduled_until"),
            deliver_notifications=data.get("deliver_notifications", True),
            name_translations=data.get("name_translations"),
            body_translations=data.get("body_translations"),
        )

    @extend_schema(
        operation_id="putIncident",
        request=s.IncidentBody,
        responses={200: s.IncidentSerializer, **WRITE_ERRORS},
        tags=["Incidents"],
    )
    def put(self, request, page_id, incident_id):
        return self.patch(request, page_id, incident_id)

    @extend_schema(
        operation_id="deleteIncident",
        responses={200: s.IncidentSerializer, **WRITE_ERRORS},
        tags=["Incidents"],
    )
    def delete(self, request, page_id, incident_id):
        incident = self.incident(incident_id)
        data = s.IncidentSerializer(incident, context=self.context()).data
        services.delete_incident(incident, actor=request.auth)
        return Response(data)


class IncidentUpdateDetail(ManageView):
    def update(self, incident_id, update_id) -> IncidentUpdate:
        incident = self.object_or_404(Incident.objects.filter(page=self.page), incident_id)
        updates = IncidentUpdate.objects.filter(incident=incident).select_related("incident")
        return self.object_or_404(updates, update_id)

    @extend_schema(
        operation_id="patchIncidentUpdate",
        description="Fix the text of a posted update (subscribers are not notified again).",
        request=s.IncidentUpdateBody,
        responses={200: s.IncidentUpdateSerializer, **WRITE_ERRORS},
        tags=["Incident updates"],
    )
    def patch(self, request, page_id, incident_id, incident_update_id):
        update = self.update(incident_id, incident_update_id)
        data = self.read(s.IncidentUpdateBody, partial=True).get("incident_update", {})
        if "body" in data or "body_translations" in data:
            update = services.edit_update(
                update,
                actor=request.auth,
                body=data.get("body"),
                body_translations=data.get("body_translations"),
            )
        return Response(s.IncidentUpdateSerializer(update, context=self.context()).data)

    @extend_schema(
        operation_id="putIncidentUpdate",
        request=s.IncidentUpdateBody,
        responses={200: s.IncidentUpdateSerializer, **WRITE_ERRORS},
        tags=["Incident updates"],
    )
    def put(self, request, page_id, incident_id, incident_update_id):
        return self.patch(request, page_id, incident_id, incident_update_id)
