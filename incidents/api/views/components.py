"""`/pages/{page_id}/components`: list, create, read, change, delete."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from incidents import services
from incidents.models import Component, Visibility

from .. import serializers as s
from ..idempotency import idempotent
from .base import (
    IDEMPOTENCY,
    PAGING,
    READ_ERRORS,
    WRITE_ERRORS,
    ManageView,
)


class ComponentList(ManageView):
    @extend_schema(
        operation_id="getComponents",
        parameters=PAGING,
        responses={200: s.ComponentSerializer(many=True), **READ_ERRORS},
        tags=["Components"],
    )
    def get(self, request, page_id):
        components = self.paginate(
            Component.objects.filter(page=self.page)
            .select_related("group")
            .order_by("position", "id")
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
            visibility=data.get("visibility", Visibility.PUBLIC),
        )
        return Response(
            s.ComponentSerializer(component, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


class ComponentDetail(ManageView):
    def component(self, component_id) -> Component:
        return self.object_or_404(
            Component.objects.filter(page=self.page).select_related("group"), component_id
        )

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
        if "visibility" in data:
            changes["visibility"] = data["visibility"]
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
