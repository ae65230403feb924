"""`/pages/{page_id}/component-groups`: groups and which components they hold."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from incidents import services
from incidents.models import (
    Component,
    ComponentGroup,
    Page,
)

from .. import serializers as s
from ..idempotency import idempotent
from .base import (
    IDEMPOTENCY,
    PAGING,
    READ_ERRORS,
    WRITE_ERRORS,
    ManageView,
)


def groups_of(page: Page):
    members = Component.objects.order_by("position", "id").only("id", "public_id", "group_id")
    return ComponentGroup.objects.filter(page=page).prefetch_related(
        Prefetch("components", queryset=members)
    )


class GroupMixin(ManageView):
    def set_members(self, group: ComponentGroup, ids: list[str]) -> None:
        """Make exactly these components the group's members (each move is a service call)."""
        wanted = {c.pk: c for c in self.components_by_id(ids, field="components").values()}
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
                name_translations=data.get("name_translations") or {},
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
            for key in ("name", "name_translations", "description", "position"):
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
