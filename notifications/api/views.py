"""`/api/v1/pages/{page_id}/subscribers` as Statuspage has it: list, create, unsubscribe.

Creating a webhook returns its signing secret once; `skip_confirmation_notification` makes the
subscriber active at once (a page's API key vouches for it), otherwise its owner confirms by
email first. Views translate; `notifications.services` writes.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from incidents.api.views import (
    MAX_PER_PAGE,
    READ_ERRORS,
    WRITE_ERRORS,
    ManageView,
    api_id,
)
from incidents.models import Customer
from incidents.services import ServiceError
from notifications import services
from notifications.models import Subscriber

from . import serializers as s

STATES = ("active", "unconfirmed", "quarantined", "unsubscribed", "all")


class SubscriberList(ManageView):
    @extend_schema(
        operation_id="getSubscribers",
        parameters=[
            OpenApiParameter("type", str, enum=["email", "webhook", "chat"]),
            OpenApiParameter("state", str, enum=list(STATES), description="Default: active."),
            OpenApiParameter("page", int, description="Page offset, from 0 (as Statuspage)."),
            OpenApiParameter("limit", int, description=f"Results per page, 1 to {MAX_PER_PAGE}."),
        ],
        description="As Statuspage: `page` counts from 0 here, `limit` is at most 100.",
        responses={200: s.SubscriberSerializer(many=True), **READ_ERRORS},
        tags=["Subscribers"],
    )
    def get(self, request, page_id):
        subscribers = (
            Subscriber.objects.filter(page=self.page)
            .select_related("customer")
            .prefetch_related("components")
        )
        kind = request.query_params.get("type")
        if kind:
            if kind not in s.MODES:
                raise exceptions.ValidationError({"type": [f"Use one of: {', '.join(s.MODES)}."]})
            subscribers = subscribers.filter(kind=kind)
        state = request.query_params.get("state", "active")
        if state not in STATES:
            raise exceptions.ValidationError({"state": [f"Use one of: {', '.join(STATES)}."]})
        if state == "active":
            subscribers = subscribers.filter(
                confirmed_at__isnull=False, unsubscribed_at__isnull=True, flagged_at__isnull=True
            )
        elif state == "unconfirmed":
            subscribers = subscribers.filter(
                confirmed_at__isnull=True, unsubscribed_at__isnull=True
            )
        elif state == "quarantined":
            subscribers = subscribers.filter(flagged_at__isnull=False)
        elif state == "unsubscribed":
            subscribers = subscribers.filter(unsubscribed_at__isnull=False)
        # Statuspage counts this list's pages from 0 (its importers and clients rely on it).
        params = request.query_params
        offset = self._positive(params.get("page"), "page", default=0, most=1_000_000, low=0)
        limit = self._positive(
            params.get("limit", params.get("per_page")),
            "limit",
            default=MAX_PER_PAGE,
            most=MAX_PER_PAGE,
        )
        ordered = subscribers.order_by("created_at", "id")
        subscribers = ordered[offset * limit : (offset + 1) * limit]
        return Response(s.SubscriberSerializer(subscribers, many=True).data)

    @extend_schema(
        operation_id="postSubscriber",
        request=s.SubscriberBody,
        responses={201: s.CreatedSubscriberSerializer, **WRITE_ERRORS},
        tags=["Subscribers"],
    )
    def post(self, request, page_id):
        data = self.read(s.SubscriberBody)["subscriber"]
        page = self.page
        language = data.get("language") or page.default_language
        skip = data["skip_confirmation_notification"]
        components = [
            c.pk
            for c in self.components_by_id(
                data.get("component_ids", []), field="components", code="invalid"
            ).values()
        ]
        customer = None
        if data.get("page_access_group_id") is not None:
            customer = (
                Customer.objects.filter(page=page).filter(api_id(data["page_access_group_id"]))
            ).first()
            if customer is None:
                raise ServiceError(
                    "No page access group with this id on this page.",
                    code="unknown_group",
                    field="page_access_group_id",
                )
        if data["mode"] == "email":
            subscriber = services.subscribe(
                page,
                email=data["email"],
                components=components,
                language=language,
                skip_confirmation=skip,
                customer=customer,
                actor=request.auth,
            )
            secret = None
        else:
            subscriber, secret = services.add_endpoint(
                page,
                kind=data["mode"],
                endpoint=data.get("endpoint", ""),
                email=data.get("email", ""),
                components=components,
                events=data.get("events", []),
                language=language,
                skip_confirmation=skip,
                customer=customer,
                actor=request.auth,
            )
        body = s.CreatedSubscriberSerializer(subscriber).data
        body["secret"] = secret or None
        return Response(body, status=status.HTTP_201_CREATED)


class SubscriberDetail(ManageView):
    def subscriber(self, subscriber_id) -> Subscriber:
        subscribers = (
            Subscriber.objects.filter(page=self.page)
            .select_related("customer")
            .prefetch_related("components")
        )
        return self.object_or_404(subscribers, subscriber_id)

    @extend_schema(
        operation_id="getSubscriber",
        responses={200: s.SubscriberSerializer, **READ_ERRORS},
        tags=["Subscribers"],
    )
    def get(self, request, page_id, subscriber_id):
        return Response(s.SubscriberSerializer(self.subscriber(subscriber_id)).data)

    @extend_schema(
        operation_id="deleteSubscriber",
        responses={200: s.SubscriberSerializer, **READ_ERRORS},
        tags=["Subscribers"],
        description="Unsubscribe (Statuspage's DELETE): nothing more is sent to it.",
    )
    def delete(self, request, page_id, subscriber_id):
        subscriber = services.unsubscribe(self.subscriber(subscriber_id), actor=request.auth)
        return Response(s.SubscriberSerializer(subscriber).data)
