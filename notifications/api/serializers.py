"""Subscribers in Statuspage's v1 shape (`mode`, `email`, `endpoint`, `components`,
`skip_confirmation_notification`), plus `secret` once on creation and our `events` choice."""

from __future__ import annotations

from rest_framework import serializers

from incidents.api.serializers import NullField, ObjectId
from notifications.models import Subscriber

MODES = ["email", "webhook", "chat"]


class SubscriberSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", read_only=True)
    mode = serializers.ChoiceField(choices=MODES, source="kind", read_only=True)
    email = serializers.CharField(read_only=True, allow_null=True)
    endpoint = serializers.SerializerMethodField()
    phone_number = NullField()
    phone_country = NullField()
    display_phone_number = NullField()
    obfuscated_channel_name = NullField()
    workspace_name = NullField()
    skip_confirmation_notification = serializers.SerializerMethodField()
    quarantined_at = serializers.DateTimeField(source="flagged_at", read_only=True)
    purge_at = NullField()
    components = serializers.SerializerMethodField()
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    # Not Statuspage's: the language notices are written in (another installation of ours
    # importing this list keeps it).
    language = serializers.CharField(read_only=True)
    page_access_user_id = NullField()
    # Not Statuspage's: the customer (page access group) whose customer-only incidents it gets.
    page_access_group_id = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    confirmed_at = serializers.DateTimeField(read_only=True)
    unsubscribed_at = serializers.DateTimeField(read_only=True)

    def get_endpoint(self, subscriber) -> str | None:
        # A chat URL holds its token: only its host is shown after creation.
        if subscriber.kind == Subscriber.Kind.WEBHOOK:
            return subscriber.endpoint
        if subscriber.kind == Subscriber.Kind.CHAT:
            from notifications.models import redact_endpoint

            return redact_endpoint(subscriber.endpoint)
        return None

    def get_skip_confirmation_notification(self, subscriber) -> bool:
        return False

    def get_page_access_group_id(self, subscriber) -> str | None:
        return subscriber.customer.public_id if subscriber.customer_id else None

    def get_components(self, subscriber) -> list[str]:
        return [c.public_id for c in subscriber.components.all()]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["email"] = data["email"] or None
        return data


class CreatedSubscriberSerializer(SubscriberSerializer):
    secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="A webhook's Standard Webhooks signing secret (whsec_...): shown only now.",
    )


class SubscriberInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=MODES, required=False)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    endpoint = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    component_ids = serializers.ListField(child=ObjectId(), required=False, max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Subscriber.Event.choices),
        required=False,
        max_length=3,
    )
    language = serializers.ChoiceField(choices=["en", "nl"], required=False)
    skip_confirmation_notification = serializers.BooleanField(required=False, default=False)
    # Statuspage's, not supported here: accepted and ignored.
    phone_number = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    phone_country = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    page_access_user = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    page_access_group_id = ObjectId(
        required=False,
        allow_null=True,
        help_text="Ours: the customer (page access group of this page) the subscriber belongs "
        "to; it then also gets that customer's customer-only incidents. Without it, an address "
        "of a customer's people or mail domains is recognized when confirmed.",
    )

    def validate(self, attrs):
        mode = attrs.get("mode") or ("webhook" if attrs.get("endpoint") else "email")
        if attrs.get("phone_number"):
            raise serializers.ValidationError(
                {"phone_number": ["SMS subscribers are not supported; use email or a webhook."]}
            )
        if mode == "email" and not attrs.get("email"):
            raise serializers.ValidationError({"email": ["Give an email or an endpoint."]})
        attrs["mode"] = mode
        return attrs


class SubscriberBody(serializers.Serializer):
    subscriber = SubscriberInput()
