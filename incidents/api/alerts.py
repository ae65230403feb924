"""Monitoring in: Alertmanager's (version 4) and Grafana's webhook payloads, per page.

Both tools can send `Authorization: Bearer <key>`; the key must be allowed on the page and may
write. The view translates the payload into `services.alerts.Alert`s and calls one service.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from incidents import services
from incidents.services.alerts import Alert, integration_actor

from .views.base import WRITE_ERRORS, ManageView

MAX_ALERTS = 1000
ALERT_STATUSES = [("firing", "firing"), ("resolved", "resolved")]


class LabelMap(serializers.DictField):
    child = serializers.CharField(max_length=1000, allow_blank=True)


class AlertInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ALERT_STATUSES)
    labels = LabelMap()
    annotations = LabelMap(required=False, default=dict)
    fingerprint = serializers.CharField(max_length=128, required=False, allow_blank=True)
    startsAt = serializers.CharField(required=False, allow_blank=True, max_length=64)  # noqa: N815
    endsAt = serializers.CharField(required=False, allow_blank=True, max_length=64)  # noqa: N815
    generatorURL = serializers.CharField(  # noqa: N815
        required=False, allow_blank=True, max_length=2000
    )


class AlertmanagerPayload(serializers.Serializer):
    """Alertmanager's webhook body (https://prometheus.io/docs/alerting/latest/configuration/)."""

    version = serializers.CharField(max_length=8)
    status = serializers.ChoiceField(choices=ALERT_STATUSES, required=False)
    alerts = serializers.ListField(child=AlertInput(), max_length=MAX_ALERTS)

    def validate_version(self, value: str) -> str:
        if value != "4":
            raise serializers.ValidationError(
                f"Alertmanager webhook payload version {value!r} is not supported; send version 4."
            )
        return value


class GrafanaPayload(serializers.Serializer):
    """Grafana alerting's webhook contact point body (an Alertmanager-like `alerts` list)."""

    alerts = serializers.ListField(child=AlertInput(), max_length=MAX_ALERTS)
    status = serializers.CharField(required=False, max_length=32)


class AlertResult(serializers.Serializer):
    changed = serializers.ListField(child=serializers.DictField())
    unchanged = serializers.ListField(child=serializers.DictField())
    ignored = serializers.ListField(child=serializers.DictField())


def _alerts(items: list[dict]) -> list[Alert]:
    alerts = []
    for item in items:
        labels = {str(k): str(v) for k, v in item["labels"].items()}
        annotations = item.get("annotations") or {}
        alerts.append(
            Alert(
                fingerprint=item.get("fingerprint") or Alert.fingerprint_of(labels),
                firing=item["status"] == "firing",
                labels=labels,
                summary=annotations.get("summary") or annotations.get("description") or "",
            )
        )
    return alerts


class AlertWebhook(ManageView):
    source = ""
    payload_class: type[serializers.Serializer] = AlertmanagerPayload

    def post(self, request, page_id):
        data = self.read(self.payload_class)
        report = services.receive_alerts(
            self.page,
            _alerts(data["alerts"]),
            source=self.source,
            actor=integration_actor(self.source, request.auth.name),
        )
        return Response(report.as_dict())


class AlertmanagerWebhook(AlertWebhook):
    source = "alertmanager"
    payload_class = AlertmanagerPayload

    @extend_schema(
        operation_id="postAlertmanagerWebhook",
        request=AlertmanagerPayload,
        responses={200: AlertResult, **WRITE_ERRORS},
        tags=["Monitoring"],
        description=(
            "Prometheus Alertmanager's webhook (payload version 4). An alert names its component "
            "with the label `component` (id or exact name) unless an alert rule maps it; "
            "`severity` sets the status (critical: major_outage, warning: degraded_performance, "
            "else partial_outage). Automation never overwrites a status a person set."
        ),
    )
    def post(self, request, page_id):
        return super().post(request, page_id)


class GrafanaWebhook(AlertWebhook):
    source = "grafana"
    payload_class = GrafanaPayload

    @extend_schema(
        operation_id="postGrafanaWebhook",
        request=GrafanaPayload,
        responses={200: AlertResult, **WRITE_ERRORS},
        tags=["Monitoring"],
        description="Grafana alerting's webhook contact point; same rules as Alertmanager's.",
    )
    def post(self, request, page_id):
        return super().post(request, page_id)
