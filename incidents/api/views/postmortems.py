"""`/pages/{page_id}/incidents/{incident_id}/postmortem`: draft, publish, revert."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from incidents import services
from incidents.models import (
    Incident,
)

from .. import serializers as s
from .base import (
    READ_ERRORS,
    WRITE_ERRORS,
    ManageView,
)


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
