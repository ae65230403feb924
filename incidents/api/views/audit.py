"""GET /api/v1/pages/{page_id}/audit-log: who changed what on a page, newest first."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from incidents.models import AuditEntry

from .base import PAGING, READ_ERRORS, ManageView


class AuditActorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=AuditEntry.ActorType.choices,
        help_text="user, api_key, integration, clock, command or system.",
    )
    name = serializers.CharField(help_text="The user name, the key's name, the clock...")


class AuditObjectSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="incident, component, componentgroup, page...")
    id = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = AuditActorSerializer()
    channel = serializers.ChoiceField(choices=AuditEntry.Channel.choices)
    action = serializers.CharField(help_text="The intent: open_incident, post_update...")
    object = AuditObjectSerializer()
    changes = serializers.DictField(
        help_text='Each changed field: {"field": {"before": ..., "after": ...}}.'
    )

    def to_representation(self, instance: AuditEntry):
        return instance.as_dict()


class AuditLog(ManageView):
    """The page's audit trail: every write, by whom, through which door."""

    @extend_schema(
        operation_id="getAuditLog",
        summary="The page's audit log, newest first.",
        parameters=[
            *PAGING,
            OpenApiParameter("action", str, description="Only this intent (e.g. post_update)."),
            OpenApiParameter("object_type", str, description="Only this kind of object."),
            OpenApiParameter("object_id", str, description="Only this object."),
        ],
        responses={200: AuditEntrySerializer(many=True), **READ_ERRORS},
        tags=["Audit log"],
    )
    def get(self, request, page_id):
        entries = AuditEntry.objects.filter(page=self.page).order_by("-created_at", "-id")
        for name in ("action", "object_type", "object_id"):
            value = request.query_params.get(name, "").strip()
            if value:
                entries = entries.filter(**{name: value[:64]})
        entries = self.paginate(entries)
        return Response(AuditEntrySerializer(entries, many=True).data)
