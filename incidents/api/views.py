"""The management API, Statuspage v1 in paths, bodies and vocabulary; `{page_id}` is a slug.

Views read the request, find the objects the key may see, and call `incidents.services` for every
write with the API key as the actor. Lists run a fixed number of queries whatever their length.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import services
from incidents.models import (
    MAINTENANCE_STATUSES,
    APIKey,
    Component,
    ComponentGroup,
    Incident,
    IncidentComponent,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Page,
)
from incidents.services import ServiceError, rules

from . import serializers as s
from .authentication import APIKeyAuthentication
from .errors import PayloadTooLarge, api_exception_handler
from .idempotency import idempotent
from .permissions import HasAPIKey, pages_for_key

MAX_PER_PAGE = 100
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
DEFAULT_MAX_BODY_BYTES = 256 * 1024

READ_ERRORS = {code: s.ErrorSerializer for code in (401, 403, 404, 422)}
WRITE_ERRORS = {code: s.ErrorSerializer for code in (400, 401, 403, 404, 409, 413, 415, 422)}
PAGING = [
    OpenApiParameter("page", int, description="Page of results, from 1."),
    OpenApiParameter("per_page", int, description=f"Results per page, 1 to {MAX_PER_PAGE}."),
]
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    description="Retrying a POST with the same key returns the first response.",
)


def default_body(page: Page, status: str) -> str:
    return rules.default_body(page.default_language, status)


def parse_id(value: Any) -> int:
    """A path id, or a 404 (never a database error for "abc" or a 30-digit number)."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= s.MAX_ID:
        raise exceptions.NotFound("Not found.")
    return int(text)


def incidents_of(page: Page):
    """Incidents with everything the serializer reads: 3 queries for any number of them."""
    return Incident.objects.filter(page=page).prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
        Prefetch("affected", queryset=IncidentComponent.objects.select_related("component")),
    )


class ManageView(APIView):
    """Base of every management endpoint: API-key auth, JSON only, one error shape."""

    authentication_classes = [APIKeyAuthentication]
    permission_classes = [HasAPIKey]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    throttle_classes: list = []

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
        if length > limit:
            raise PayloadTooLarge(f"The request body is {length} bytes; at most {limit}.")
        super().initial(request, *args, **kwargs)

    # --- lookups ----------------------------------------------------------------------------

    @property
    def page(self) -> Page:
        if not hasattr(self, "_page"):
            slug = str(self.kwargs["page_id"])
            page = None
            if SLUG.match(slug):
                key = cast(APIKey, self.request.auth)  # APIKeyAuthentication's
                page = pages_for_key(key).filter(slug=slug).first()
            if page is None:
                raise exceptions.NotFound(f"No page “{slug[:64]}”.")
            self._page = page
        return self._page

    def object_or_404(self, queryset, pk):
        found = queryset.filter(pk=parse_id(pk)).first()
        if found is None:
            raise exceptions.NotFound(f"No {queryset.model._meta.verbose_name} with id {pk}.")
        return found

    def context(self) -> dict:
        return {"page": self.page, "request": self.request}

    def read(self, serializer_class, *, partial: bool = False) -> dict:
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def paginate(self, queryset):
        params = self.request.query_params
        number = self._positive(params.get("page"), "page", default=1, most=1_000_000)
        per_page = self._positive(
            params.get("per_page", params.get("limit")),
            "per_page",
            default=MAX_PER_PAGE,
            most=MAX_PER_PAGE,
        )
        return queryset[(number - 1) * per_page : number * per_page]

    @staticmethod
    def _positive(value, name: str, *, default: int, most: int, low: int = 1) -> int:
        if value in (None, ""):
            return default
        if not value.isascii() or not value.isdigit() or not low <= int(value) <= most:
            raise exceptions.ValidationError({name: [f"Use a whole number from {low} to {most}."]})
        return int(value)

    def group_or_error(self, group_id: int | None) -> ComponentGroup | None:
        if group_id is None:
            return None
        group = ComponentGroup.objects.filter(page=self.page, pk=group_id).first()
        if group is None:
            raise ServiceError(
                f"No component group with id {group_id} on this page.",
                code="unknown_group",
                field="group_id",
            )
        return group


# --- pages ------------------------------------------------------------------------------------


class PageList(ManageView):
    @extend_schema(
        operation_id="getPages",
        parameters=PAGING,
        responses={200: s.PageSerializer(many=True), **READ_ERRORS},
        tags=["Pages"],
    )
    def get(self, request):
        pages = self.paginate(pages_for_key(request.auth).order_by("name", "id"))
        return Response(s.PageSerializer(pages, many=True, context={"request": request}).data)


class PageDetail(ManageView):
    @extend_schema(
        operation_id="getPage", responses={200: s.PageSerializer, **READ_ERRORS}, tags=["Pages"]
    )
    def get(self, request, page_id):
        return Response(s.PageSerializer(self.page, context=self.context()).data)

    @extend_schema(
        operation_id="patchPage",
        request=s.PageBody,
        responses={200: s.PageSerializer, **WRITE_ERRORS},
        tags=["Pages"],
    )
    def patch(self, request, page_id):
        data = self.read(s.PageBody, partial=True).get("page", {})
        page = self.page
        fields = {
            "name": "name",
            "domain": "custom_host",
            "time_zone": "time_zone",
            "page_description": "headline",
            "headline": "headline",
            "css_link_color": "accent_colour",
        }
        for name, attribute in fields.items():
            if name in data:
                setattr(page, attribute, data[name])
        if data:
            page = services.save_page(page, actor=request.auth)
        return Response(s.PageSerializer(page, context=self.context()).data)

    @extend_schema(
        operation_id="putPage",
        request=s.PageBody,
        responses={200: s.PageSerializer, **WRITE_ERRORS},
        tags=["Pages"],
    )
    def put(self, request, page_id):
        return self.patch(request, page_id)


# --- components -------------------------------------------------------------------------------


class ComponentList(ManageView):
    @extend_schema(
        operation_id="getComponents",
        parameters=PAGING,
        responses={200: s.ComponentSerializer(many=True), **READ_ERRORS},
        tags=["Components"],
    )
    def get(self, request, page_id):
        components = self.paginate(
            Component.objects.filter(page=self.page).order_by("position", "id")
        )
        return Response(s.ComponentSerializer(components, many=True, context=self.context()).data)

    @extend_schema(
        operation_id="postComponent",
        request=s.ComponentBody,
        parameters=[IDEMPOTENCY],
        responses={201: s.ComponentSerializer, **WRITE_ERRORS},
        tags=["Components"],
    )
    @idempotent
    def post(self, request, page_id):
        data = self.read(s.ComponentBody)["component"]
        component = services.create_component(
            self.page,
            actor=request.auth,
            name=data["name"],
            group=self.group_or_error(data.get("group_id")),
            description=data.get("description", ""),
            position=data.get("position"),
            status=data.get("status", "operational"),
            is_visible=data.get("showcase", True),
        )
        return Response(
            s.ComponentSerializer(component, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


class ComponentDetail(ManageView):
    def component(self, component_id) -> Component:
        return self.object_or_404(Component.objects.filter(page=self.page), component_id)

    @extend_schema(
        operation_id="getComponent",
        responses={200: s.ComponentSerializer, **READ_ERRORS},
        tags=["Components"],
    )
    def get(self, request, page_id, component_id):
        return Response(
            s.ComponentSerializer(self.component(component_id), context=self.context()).data
        )

    @extend_schema(
        operation_id="patchComponent",
        request=s.ComponentBody,
        responses={200: s.ComponentSerializer, **WRITE_ERRORS},
        tags=["Components"],
    )
    def patch(self, request, page_id, component_id):
        component = self.component(component_id)
        data = self.read(s.ComponentBody, partial=True).get("component", {})
        changes: dict[str, Any] = {
            key: data[key] for key in ("name", "description", "status", "position") if key in data
        }
        if "group_id" in data:
            changes["group"] = self.group_or_error(data["group_id"])
        if "showcase" in data:
            changes["is_visible"] = data["showcase"]
        if changes:
            component = services.update_component(component, actor=request.auth, **changes)
        return Response(s.ComponentSerializer(component, context=self.context()).data)

    @extend_schema(
        operation_id="putComponent",
        request=s.ComponentBody,
        responses={200: s.ComponentSerializer, **WRITE_ERRORS},
        tags=["Components"],
    )
    def put(self, request, page_id, component_id):
        return self.patch(request, page_id, component_id)

    @extend_schema(
        operation_id="deleteComponent", responses={204: None, **WRITE_ERRORS}, tags=["Components"]
    )
    def delete(self, request, page_id, component_id):
        services.delete_component(self.component(component_id), actor=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- component groups -------------------------------------------------------------------------


def groups_of(page: Page):
    members = Component.objects.order_by("position", "id").only("id", "group_id")
    return ComponentGroup.objects.filter(page=page).prefetch_related(
        Prefetch("components", queryset=members)
    )


class GroupMixin(ManageView):
    def set_members(self, group: ComponentGroup, ids: list[int]) -> None:
        """Make exactly these components the group's members (each move is a service call)."""
        wanted = {c.pk: c for c in Component.objects.filter(page=self.page, pk__in=ids)}
        missing = sorted(set(ids) - set(wanted))
        if missing:
            raise ServiceError(
                f"No component with id {', '.join(map(str, missing))} on this page.",
                code="unknown_component",
                field="components",
            )
        for component in Component.objects.filter(group=group).exclude(pk__in=wanted):
            services.update_component(component, actor=self.request.auth, group=None)
        for component in wanted.values():
            if component.group_id != group.pk:
                services.update_component(component, actor=self.request.auth, group=group)


class GroupList(GroupMixin, ManageView):
    @extend_schema(
        operation_id="getComponentGroups",
        parameters=PAGING,
        responses={200: s.ComponentGroupSerializer(many=True), **READ_ERRORS},
        tags=["Component groups"],
    )
    def get(self, request, page_id):
        groups = self.paginate(groups_of(self.page).order_by("position", "id"))
        return Response(s.ComponentGroupSerializer(groups, many=True, context=self.context()).data)

    @extend_schema(
        operation_id="postComponentGroup",
        request=s.ComponentGroupBody,
        parameters=[IDEMPOTENCY],
        responses={201: s.ComponentGroupSerializer, **WRITE_ERRORS},
        tags=["Component groups"],
    )
    @idempotent
    def post(self, request, page_id):
        body = self.read(s.ComponentGroupBody)
        data = body["component_group"]
        with transaction.atomic():
            group = ComponentGroup(
                page=self.page,
                name=data["name"],
                description=data.get("description", body.get("description", "")),
                position=data.get("position", self.page.groups.count()),
            )
            services.save_group(group, actor=request.auth)
            self.set_members(group, data.get("components", []))
        group = groups_of(self.page).get(pk=group.pk)
        return Response(
            s.ComponentGroupSerializer(group, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


class GroupDetail(GroupMixin, ManageView):
    def group(self, group_id) -> ComponentGroup:
        return self.object_or_404(groups_of(self.page), group_id)

    @extend_schema(
        operation_id="getComponentGroup",
        responses={200: s.ComponentGroupSerializer, **READ_ERRORS},
        tags=["Component groups"],
    )
    def get(self, request, page_id, id):
        return Response(s.ComponentGroupSerializer(self.group(id), context=self.context()).data)

    @extend_schema(
        operation_id="patchComponentGroup",
        request=s.ComponentGroupBody,
        responses={200: s.ComponentGroupSerializer, **WRITE_ERRORS},
        tags=["Component groups"],
    )
    def patch(self, request, page_id, id):
        group = self.group(id)
        body = self.read(s.ComponentGroupBody, partial=True)
        data = body.get("component_group", {})
        with transaction.atomic():
            for key in ("name", "description", "position"):
                if key in data:
                    setattr(group, key, data[key])
            if "description" in body and "description" not in data:
                group.description = body["description"]
            if data or "description" in body:
                services.save_group(group, actor=request.auth)
            if "components" in data:
                self.set_members(group, data["components"])
        return Response(s.ComponentGroupSerializer(self.group(id), context=self.context()).data)

    @extend_schema(
        operation_id="putComponentGroup",
        request=s.ComponentGroupBody,
        responses={200: s.ComponentGroupSerializer, **WRITE_ERRORS},
        tags=["Component groups"],
    )
    def put(self, request, page_id, id):
        return self.patch(request, page_id, id)

    @extend_schema(
        operation_id="deleteComponentGroup",
        responses={200: s.ComponentGroupSerializer, **WRITE_ERRORS},
        tags=["Component groups"],
    )
    def delete(self, request, page_id, id):
        group = self.group(id)
        data = s.ComponentGroupSerializer(group, context=self.context()).data
        services.delete_group(group, actor=request.auth)
        return Response(data)


# --- incidents --------------------------------------------------------------------------------


class IncidentMixin(ManageView):
    def component_statuses(self, data: dict, *, maintenance: bool) -> dict[int, str]:
        """`components` (id → status) plus `component_ids` (their current status, or under
        maintenance for maintenance); an unknown id is left for the service to refuse."""
        statuses = dict(data.get("components") or {})
        extra = [i for i in data.get("component_ids") or [] if i not in statuses]
        if maintenance:
            statuses.update({i: "under_maintenance" for i in extra})
        elif extra:
            current = dict(
                Component.objects.filter(page=self.page, pk__in=extra).values_list("pk", "status")
            )
            statuses.update({i: current.get(i, "operational") for i in extra})
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
                )
            else:
                status_ = status_ or IncidentStatus.INVESTIGATING
                incident = services.open_incident(
                    page,
                    actor=actor,
                    name=data["name"],
                    body=data.get("body") or default_body(page, status_),
                    status=status_,
                    impact=data.get("impact_override"),
                    components=statuses,
                    deliver_notifications=notify,
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
UpcomingIncidents = _sub_list("upcoming", "Upcoming", "Maintenance that has not started.")
ActiveMaintenance = _sub_list("active_maintenance", "ActiveMaintenance", "Maintenance under way.")
ScheduledIncidents = _sub_list("scheduled", "Scheduled", "All scheduled maintenance.")


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
        return self.object_or_404(IncidentUpdate.objects.filter(incident=incident), update_id)

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
        if "body" in data:
            update = services.edit_update(update, actor=request.auth, body=data["body"])
        return Response(s.IncidentUpdateSerializer(update, context=self.context()).data)

    @extend_schema(
        operation_id="putIncidentUpdate",
        request=s.IncidentUpdateBody,
        responses={200: s.IncidentUpdateSerializer, **WRITE_ERRORS},
        tags=["Incident updates"],
    )
    def put(self, request, page_id, incident_id, incident_update_id):
        return self.patch(request, page_id, incident_id, incident_update_id)


# --- incident templates -----------------------------------------------------------------------


class TemplateList(ManageView):
    def templates(self):
        components = Component.objects.order_by("position", "id")
        return IncidentTemplate.objects.filter(page=self.page).prefetch_related(
            Prefetch("components", queryset=components)
        )

    @extend_schema(
        operation_id="getIncidentTemplates",
        parameters=PAGING,
        responses={200: s.IncidentTemplateSerializer(many=True), **READ_ERRORS},
        tags=["Incident templates"],
    )
    def get(self, request, page_id):
        templates = self.paginate(self.templates().order_by("name", "id"))
        return Response(
            s.IncidentTemplateSerializer(templates, many=True, context=self.context()).data
        )

    @extend_schema(
        operation_id="postIncidentTemplate",
        request=s.IncidentTemplateBody,
        parameters=[IDEMPOTENCY],
        responses={201: s.IncidentTemplateSerializer, **WRITE_ERRORS},
        tags=["Incident templates"],
    )
    @idempotent
    def post(self, request, page_id):
        data = self.read(s.IncidentTemplateBody)["template"]
        template = IncidentTemplate(
            page=self.page,
            name=data["name"],
            title=data["title"],
            body=data["body"],
            update_status=data.get("update_status", IncidentStatus.INVESTIGATING),
            impact=data.get("impact", "minor"),
        )
        services.save_incident_template(
            template, actor=request.auth, components=data.get("component_ids", [])
        )
        template = self.templates().get(pk=template.pk)
        return Response(
            s.IncidentTemplateSerializer(template, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


# --- postmortems ------------------------------------------------------------------------------


class PostmortemView(ManageView):
    """An incident's postmortem: the draft, and its publish workflow (Statuspage's paths)."""

    def incident(self, incident_id) -> Incident:
        return self.object_or_404(
            Incident.objects.filter(page=self.page, kind=Incident.Kind.INCIDENT), incident_id
        )

    def respond(self, incident: Incident) -> Response:
        return Response(s.PostmortemSerializer(incident, context=self.context()).data)


class PostmortemDetail(PostmortemView):
    @extend_schema(
        operation_id="getPostmortem",
        responses={200: s.PostmortemSerializer, **READ_ERRORS},
        tags=["Incident postmortem"],
    )
    def get(self, request, page_id, incident_id):
        return self.respond(self.incident(incident_id))

    @extend_schema(
        operation_id="putPostmortem",
        description="Replace the draft. The public keeps seeing the published text, if any, "
        "until the draft is published.",
        request=s.PostmortemBody,
        responses={200: s.PostmortemSerializer, **WRITE_ERRORS},
        tags=["Incident postmortem"],
    )
    def put(self, request, page_id, incident_id):
        incident = self.incident(incident_id)
        data = self.read(s.PostmortemBody)["postmortem"]
        incident = services.save_postmortem_draft(
            incident, actor=request.auth, body=data["body_draft"]
        )
        return self.respond(incident)


class PostmortemPublish(PostmortemView):
    @extend_schema(
        operation_id="putPostmortemPublish",
        description="Publish the draft of a resolved incident: it appears on the incident page, "
        "in the public JSON and the feeds; `notify_subscribers` also tells subscribers.",
        request=s.PostmortemPublishBody,
        responses={200: s.PostmortemSerializer, **WRITE_ERRORS},
        tags=["Incident postmortem"],
    )
    def put(self, request, page_id, incident_id):
        incident = self.incident(incident_id)
        data = self.read(s.PostmortemPublishBody).get("postmortem") or {}
        incident = services.publish_postmortem(
            incident, actor=request.auth, notify_subscribers=data.get("notify_subscribers", False)
        )
        return self.respond(incident)


class PostmortemRevert(PostmortemView):
    @extend_schema(
        operation_id="putPostmortemRevert",
        description="Take a published postmortem back to draft: it leaves every public channel.",
        request=None,
        responses={200: s.PostmortemSerializer, **WRITE_ERRORS},
        tags=["Incident postmortem"],
    )
    def put(self, request, page_id, incident_id):
        incident = services.revert_postmortem(self.incident(incident_id), actor=request.auth)
        return self.respond(incident)


class PostmortemHistory(PostmortemView):
    @extend_schema(
        operation_id="getPostmortemHistory",
        summary="The postmortem's history, newest first.",
        description="Every edit, publish and revert with who did it and the text, read from "
        "the page's audit trail (`/audit-log` has the same rows with every field's "
        "before and after).",
        responses={200: s.PostmortemStepSerializer(many=True), **READ_ERRORS},
        tags=["Incident postmortem"],
    )
    def get(self, request, page_id, incident_id):
        steps = services.postmortem_history(self.incident(incident_id))
        return Response(s.PostmortemStepSerializer(steps, many=True).data)


# --- subscribers ------------------------------------------------------------------------------
