"""`/pages/{page_id}/incident_templates`: reusable incident texts."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from incidents import services
from incidents.models import (
    Component,
    IncidentStatus,
    IncidentTemplate,
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


class TemplateList(ManageView):
    def templates(self):
        components = Component.objects.select_related("group").order_by("position", "id")
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
            title_translations=data.get("title_translations") or {},
            body=data["body"],
            body_translations=data.get("body_translations") or {},
            update_status=data.get("update_status", IncidentStatus.INVESTIGATING),
            impact=data.get("impact", "minor"),
        )
        services.save_incident_template(
            template,
            actor=request.auth,
            components=[
                c.pk
                for c in self.components_by_id(
                    data.get("component_ids", []), field="component_ids"
                ).values()
            ],
        )
        template = self.templates().get(pk=template.pk)
        return Response(
            s.IncidentTemplateSerializer(template, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )
