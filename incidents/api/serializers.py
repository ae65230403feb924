"""Request and response shapes of the management API, named and nested as Statuspage's v1.

Ids are public ids (random 12-character strings, as Statuspage's); for a transition, the
database ids ("12") that integrations kept from before are still accepted on input and in
paths. Fields that Statuspage has and we do not (Twitter, metadata, reminders) are answered
with their empty value and accepted, then ignored, on input.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import (
    INCIDENT_STATUSES,
    ComponentStatus,
    Impact,
    IncidentStatus,
    Visibility,
    is_public_id,
    validate_time_zone,
)

MAX_ID = 2**63 - 1
MAX_POSITION = 2**31 - 1
MAX_COMPONENTS = 500
INCIDENT_STATUS_CHOICES = [(status.value, status.label) for status in INCIDENT_STATUSES]
TEMPLATE_IMPACT_CHOICES = [c for c in Impact.choices if c[0] != Impact.MAINTENANCE]


# --- small field types --------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^(?:[a-z0-9]{12}|[0-9]+)$",
        "example": "2xb9kq3c8bvf",
        "description": "A public id; the database id in digits is accepted for a transition.",
    }
)
class ObjectId(serializers.Field):
    """An id as sent: a public id ("2xb9kq3c8bvf") or a database id ("12" or 12); the view
    resolves it within the page (a value no row can have is refused here, not a 500)."""

    default_error_messages = {
        "invalid": '“{value}” is not an id (ids look like "2xb9kq3c8bvf").',
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid", value=str(data)[:40])
        text = str(data).strip()
        if is_public_id(text):
            return text
        if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
            self.fail("invalid", value=text[:40])
        return str(int(text))

    def to_representation(self, value):
        return str(value)


def public_id_of(obj) -> str | None:
    return obj.public_id if obj is not None else None


def text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, trim_whitespace=True, **kwargs)


@extend_schema_field(OpenApiTypes.BOOL)
class FalseField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return False


@extend_schema_field({"type": "string", "nullable": True})
class NullField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return None


@extend_schema_field(OpenApiTypes.STR)
class PageSlugField(serializers.Field):
    """`page_id`: the page's slug, from the view's page (no query per object)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return self.context["page"].slug


# --- responses ----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What went wrong, for a person.")
    code = serializers.CharField(help_text="What went wrong, for a program.")
    field = serializers.CharField(required=False, help_text="The input at fault.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # Added here: a class attribute named `errors` would hide `Serializer.errors`.
        fields = super().get_fields()
        fields["errors"] = serializers.JSONField(
            required=False, help_text="Every validation error, by field."
        )
        return fields


VISIBILITY_HELP = (
    "Who sees the component (not in Statuspage's API): `public` (everyone, the default) or "
    "`customers` (only the customers it is assigned to, through page access groups; an "
    "incident touching only such components is seen by those customers only)."
)


class ComponentSerializer(serializers.Serializer):
    """A component; its group is read through `component.group` (select it with the query)."""

    id = serializers.CharField(source="public_id", read_only=True)
    page_id = PageSlugField()
    group_id = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    group = FalseField()
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=ComponentStatus.choices, read_only=True)
    showcase = serializers.BooleanField(source="is_visible", read_only=True)
    visibility = serializers.ChoiceField(
        choices=Visibility.choices,
        read_only=True,
        help_text=VISIBILITY_HELP,
    )
    only_show_if_degraded = FalseField()
    automation_email = NullField()
    start_date = NullField()

    def get_group_id(self, component) -> str | None:
        return component.group.public_id if component.group_id else None


class ComponentGroupSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", read_only=True)
    page_id = PageSlugField()
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    components = serializers.SerializerMethodField()
    position = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_components(self, group) -> list[str]:
        return [c.public_id for c in group.components.all()]


class AffectedComponentSerializer(serializers.Serializer):
    code = serializers.CharField(
        allow_null=True, help_text="The component's id (null once it was deleted)."
    )
    name = serializers.CharField()
    old_status = serializers.CharField()
    new_status = serializers.CharField()


class IncidentUpdateSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", read_only=True)
    incident_id = serializers.CharField(source="incident.public_id", read_only=True)
    affected_components = serializers.SerializerMethodField()
    body = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    custom_tweet = NullField()
    deliver_notifications = serializers.BooleanField(read_only=True)
    display_at = serializers.DateTimeField(read_only=True)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, read_only=True)
    tweet_id = NullField()
    twitter_updated_at = NullField()
    updated_at = serializers.DateTimeField(read_only=True)
    wants_twitter_update = FalseField()

    @extend_schema_field(AffectedComponentSerializer(many=True))
    def get_affected_components(self, update) -> list[dict[str, Any]]:
        """The stored entries name components by database id: shown by public id."""
        entries = update.affected_components or []
        if not entries:
            return []
        codes = component_codes(self.root, self.context["page"])
        return [
            {
                "code": codes.get(_as_int(entry.get("code"))),
                "name": entry.get("name", ""),
                "old_status": entry.get("old_status", ""),
                "new_status": entry.get("new_status", ""),
            }
            for entry in entries
        ]


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0  # no row has it


def component_codes(root: serializers.BaseSerializer, page) -> dict[int, str]:
    """{database id: public id} of the page's components: one query per response, when an
    update names components."""
    codes = getattr(root, "_component_codes", None)
    if codes is None:
        from incidents.models import Component

        codes = dict(Component.objects.filter(page=page).values_list("pk", "public_id"))
        setattr(root, "_component_codes", codes)  # noqa: B010
    return codes


class IncidentSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", read_only=True)
    components = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    impact = serializers.ChoiceField(choices=Impact.choices, read_only=True)
    impact_override = NullField()
    incident_updates = IncidentUpdateSerializer(source="updates", many=True, read_only=True)
    metadata = serializers.SerializerMethodField()
    monitoring_at = serializers.DateTimeField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)
    page_id = PageSlugField()
    postmortem_body = serializers.CharField(
        source="postmortem", read_only=True, help_text="The draft (private until published)."
    )
    postmortem_body_last_updated_at = serializers.DateTimeField(
        source="postmortem_updated_at", read_only=True, allow_null=True
    )
    postmortem_ignored = FalseField()
    postmortem_notified_subscribers = serializers.BooleanField(read_only=True)
    postmortem_notified_twitter = FalseField()
    postmortem_published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    scheduled_auto_completed = serializers.BooleanField(read_only=True)
    scheduled_auto_in_progress = serializers.BooleanField(read_only=True)
    scheduled_for = serializers.DateTimeField(read_only=True, allow_null=True)
    auto_transition_deliver_notifications_at_end = FalseField()
    auto_transition_deliver_notifications_at_start = FalseField()
    auto_transition_to_maintenance_state = serializers.SerializerMethodField()
    auto_transition_to_operational_state = serializers.SerializerMethodField()
    scheduled_remind_prior = FalseField()
    scheduled_reminded_at = NullField()
    scheduled_until = serializers.DateTimeField(read_only=True, allow_null=True)
    shortlink = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(read_only=True)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(ComponentSerializer(many=True))  # the nested type, for the schema
    def get_components(self, incident) -> list[dict[str, Any]]:
        components = sorted(
            (link.component for link in incident.affected.all()),
            key=lambda c: (c.position, c.pk),
        )
        # One component serializer per response, not one per incident (DRF copies its fields).
        serializer = getattr(self.root, "_component_serializer", None)
        if serializer is None:
            serializer = ComponentSerializer(context=self.context)
            setattr(self.root, "_component_serializer", serializer)  # noqa: B010
        return [serializer.to_representation(c) for c in components]

    def get_metadata(self, incident) -> dict:
        return {}

    def get_auto_transition_to_maintenance_state(self, incident) -> bool:
        return incident.is_maintenance

    def get_auto_transition_to_operational_state(self, incident) -> bool:
        return incident.is_maintenance

    def get_shortlink(self, incident) -> str:
        return self.context["page"].public_url(f"incidents/{incident.pk}/")


class PostmortemStepSerializer(serializers.Serializer):
    """One step of a postmortem's history (from the page's audit trail)."""

    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["edited", "published", "reverted"])
    actor = serializers.SerializerMethodField()
    channel = serializers.CharField(help_text="admin, api, command...")
    action = serializers.CharField(help_text="The audited intent that took the step.")
    body = serializers.CharField(
        help_text="The draft after an edit, the text published, or the text taken down."
    )
    notified_subscribers = serializers.BooleanField()

    def get_actor(self, step) -> dict[str, str]:
        return {"type": step.actor_type, "name": step.actor_name}


class PostmortemSerializer(serializers.Serializer):
    """An incident's postmortem as Statuspage's `/postmortem` answers it."""

    preview_key = serializers.SerializerMethodField()
    body = serializers.CharField(
        source="postmortem_published", read_only=True, help_text="The published text."
    )
    body_updated_at = serializers.DateTimeField(
        source="postmortem_published_at", read_only=True, allow_null=True
    )
    body_draft = serializers.CharField(source="postmortem", read_only=True)
    body_draft_updated_at = serializers.DateTimeField(
        source="postmortem_updated_at", read_only=True, allow_null=True
    )
    published_at = serializers.DateTimeField(
        source="postmortem_published_at", read_only=True, allow_null=True
    )
    notify_subscribers = serializers.BooleanField(
        source="postmortem_notified_subscribers", read_only=True
    )
    notify_twitter = FalseField()
    custom_tweet = NullField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_preview_key(self, incident) -> str | None:
        return None


class IncidentTemplateSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", read_only=True)
    components = ComponentSerializer(many=True, read_only=True)
    name = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    group_id = NullField()
    update_status = serializers.CharField(read_only=True)
    should_tweet = FalseField()
    should_send_notifications = serializers.SerializerMethodField()
    impact = serializers.CharField(read_only=True)

    def get_should_send_notifications(self, template) -> bool:
        return True


class PageSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    name = serializers.CharField(read_only=True)
    page_description = serializers.CharField(source="headline", read_only=True)
    headline = serializers.CharField(read_only=True)
    branding = serializers.SerializerMethodField()
    subdomain = serializers.CharField(source="slug", read_only=True)
    domain = serializers.CharField(source="custom_host", read_only=True)
    url = serializers.SerializerMethodField()
    support_url = serializers.SerializerMethodField()
    hidden_from_search = FalseField()
    allow_page_subscribers = serializers.SerializerMethodField()
    # Statuspage's shape, told truthfully: email and webhook subscriptions (the public form and
    # the subscribers API take both), no per-incident or SMS ones.
    allow_incident_subscribers = FalseField()
    allow_email_subscribers = serializers.SerializerMethodField()
    allow_sms_subscribers = FalseField()
    allow_rss_atom_feeds = serializers.SerializerMethodField()
    allow_webhook_subscribers = serializers.SerializerMethodField()
    notifications_from_email = serializers.SerializerMethodField()
    notifications_email_footer = NullField()
    activity_score = serializers.SerializerMethodField()
    twitter_username = NullField()
    viewers_must_be_team_members = FalseField()
    ip_restrictions = NullField()
    city = NullField()
    state = NullField()
    country = NullField()
    time_zone = serializers.CharField(read_only=True)
    css_link_color = serializers.CharField(source="accent_colour", read_only=True)

    def get_branding(self, page) -> str:
        return "premium"

    def get_url(self, page) -> str:
        return page.public_url().rstrip("/")  # Statuspage's shape: no trailing slash

    def get_support_url(self, page) -> str:
        return f"mailto:{page.support_email}" if page.support_email else ""

    def get_allow_page_subscribers(self, page) -> bool:
        return True

    get_allow_email_subscribers = get_allow_page_subscribers
    get_allow_webhook_subscribers = get_allow_page_subscribers
    get_allow_rss_atom_feeds = get_allow_page_subscribers

    def get_notifications_from_email(self, page) -> str:
        from django.conf import settings

        return settings.DEFAULT_FROM_EMAIL

    def get_activity_score(self, page) -> float:
        return 0.0


# --- requests -----------------------------------------------------------------------------------


class ComponentInput(serializers.Serializer):
    name = text(120)
    description = text(5000, allow_blank=True, required=False)
    status = serializers.ChoiceField(choices=ComponentStatus.choices, required=False)
    group_id = ObjectId(allow_null=True, required=False)
    showcase = serializers.BooleanField(required=False, help_text="false hides the component.")
    visibility = serializers.ChoiceField(
        choices=Visibility.choices,
        required=False,
        help_text=VISIBILITY_HELP,
    )
    only_show_if_degraded = serializers.BooleanField(required=False)
    start_date = serializers.DateField(required=False, allow_null=True)
    position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, required=False)


class ComponentBody(serializers.Serializer):
    component = ComponentInput()


class ComponentGroupInput(serializers.Serializer):
    name = text(120)
    description = text(5000, allow_blank=True, required=False)
    components = serializers.ListField(child=ObjectId(), max_length=MAX_COMPONENTS, required=False)
    position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, required=False)


class ComponentGroupBody(serializers.Serializer):
    description = text(5000, allow_blank=True, required=False)
    component_group = ComponentGroupInput()


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "enum": ComponentStatus.values},
        "example": {"12": "major_outage"},
    }
)
class ComponentStatusMap(serializers.DictField):
    """`components`: {component id: status}, as Statuspage takes it."""

    child = serializers.ChoiceField(choices=ComponentStatus.choices)

    def to_internal_value(self, data):
        statuses = super().to_internal_value(data)
        if len(statuses) > MAX_COMPONENTS:
            raise serializers.ValidationError(f"At most {MAX_COMPONENTS} components.")
        ids = ObjectId()
        return {ids.to_internal_value(key): status for key, status in statuses.items()}


class IncidentInput(serializers.Serializer):
    name = text(200)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, required=False)
    impact_override = serializers.ChoiceField(
        choices=Impact.choices, required=False, allow_null=True
    )
    body = text(20_000, allow_blank=True, required=False)
    component_ids = serializers.ListField(
        child=ObjectId(), max_length=MAX_COMPONENTS, required=False
    )
    components = ComponentStatusMap(required=False)
    deliver_notifications = serializers.BooleanField(required=False, default=True)
    scheduled_for = serializers.DateTimeField(required=False, allow_null=True)
    scheduled_until = serializers.DateTimeField(required=False, allow_null=True)
    scheduled_auto_in_progress = serializers.BooleanField(required=False)
    scheduled_auto_completed = serializers.BooleanField(required=False)
    scheduled_remind_prior = serializers.BooleanField(required=False)
    auto_transition_to_maintenance_state = serializers.BooleanField(required=False)
    auto_transition_to_operational_state = serializers.BooleanField(required=False)
    metadata = serializers.DictField(required=False)


class IncidentBody(serializers.Serializer):
    incident = IncidentInput()


class IncidentUpdateInput(serializers.Serializer):
    body = text(20_000)
    display_at = serializers.DateTimeField(required=False)
    deliver_notifications = serializers.BooleanField(required=False)
    wants_twitter_update = serializers.BooleanField(required=False)


class IncidentUpdateBody(serializers.Serializer):
    incident_update = IncidentUpdateInput()


class IncidentTemplateInput(serializers.Serializer):
    name = text(120)
    title = text(200)
    body = text(20_000)
    group_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    update_status = serializers.ChoiceField(choices=INCIDENT_STATUS_CHOICES, required=False)
    should_tweet = serializers.BooleanField(required=False)
    should_send_notifications = serializers.BooleanField(required=False)
    component_ids = serializers.ListField(
        child=ObjectId(), max_length=MAX_COMPONENTS, required=False
    )
    impact = serializers.ChoiceField(choices=TEMPLATE_IMPACT_CHOICES, required=False)


class IncidentTemplateBody(serializers.Serializer):
    template = IncidentTemplateInput()


class PostmortemInput(serializers.Serializer):
    body_draft = serializers.CharField(max_length=100_000, allow_blank=True, trim_whitespace=True)


class PostmortemBody(serializers.Serializer):
    postmortem = PostmortemInput()


class PostmortemPublishInput(serializers.Serializer):
    notify_subscribers = serializers.BooleanField(required=False, default=False)
    notify_twitter = serializers.BooleanField(required=False, help_text="Accepted, ignored.")
    custom_tweet = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Accepted, ignored."
    )


class PostmortemPublishBody(serializers.Serializer):
    postmortem = PostmortemPublishInput(required=False)


class PageInput(serializers.Serializer):
    name = text(120, required=False)
    domain = serializers.RegexField(
        r"^[A-Za-z0-9.-]*$", max_length=253, allow_blank=True, required=False
    )
    time_zone = text(64, required=False, validators=[validate_time_zone])
    headline = text(200, allow_blank=True, required=False)
    page_description = text(200, allow_blank=True, required=False)
    css_link_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)


class PageBody(serializers.Serializer):
    page = PageInput()


# --- audiences (Statuspage's page access groups and users) --------------------------------------


class PageAccessGroupSerializer(serializers.Serializer):
    """A customer as Statuspage's page access group: `component_ids` are the services it uses
    on this page (prefetch `page_components` and `members`)."""

    id = serializers.CharField(source="public_id", read_only=True)
    page_id = PageSlugField()
    name = serializers.CharField(read_only=True)
    page_access_user_ids = serializers.SerializerMethodField()
    external_identifier = serializers.CharField(
        source="code",
        read_only=True,
        help_text="The customer's code (what the phone system's `?customer=` names).",
    )
    metric_ids = serializers.SerializerMethodField()
    component_ids = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_page_access_user_ids(self, customer) -> list[str]:
        return [m.public_id for m in customer.members.all()]

    def get_metric_ids(self, customer) -> list[str]:
        return []

    def get_component_ids(self, customer) -> list[str]:
        return [c.public_id for c in customer.page_components]


class PageAccessGroupInput(serializers.Serializer):
    name = text(120)
    external_identifier = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The customer's code (lowercase letters, digits, hyphens); made from the "
        "name when left out.",
    )
    component_ids = serializers.ListField(
        child=ObjectId(), max_length=MAX_COMPONENTS, required=False
    )
    metric_ids = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Empty: no metrics here."
    )
    page_access_user_ids = serializers.ListField(
        child=ObjectId(),
        required=False,
        help_text="Empty: add people with POST page_access_users (a person belongs to one "
        "customer).",
    )

    def validate_metric_ids(self, value: list) -> list:
        if value:
            raise serializers.ValidationError("This service has no metrics: leave this empty.")
        return value

    def validate_page_access_user_ids(self, value: list) -> list:
        if value:
            raise serializers.ValidationError(
                "A person belongs to one customer: add people with POST page_access_users."
            )
        return value


class PageAccessGroupBody(serializers.Serializer):
    page_access_group = PageAccessGroupInput()


class PageAccessGroupComponentsBody(serializers.Serializer):
    component_ids = serializers.ListField(child=ObjectId(), max_length=MAX_COMPONENTS)


class PageAccessUserSerializer(serializers.Serializer):
    """An invited address of a customer (select `customer` with the query)."""

    id = serializers.CharField(source="public_id", read_only=True)
    page_id = PageSlugField()
    email = serializers.EmailField(read_only=True)
    external_login = NullField()
    page_access_group_id = serializers.CharField(source="customer.public_id", read_only=True)
    page_access_group_ids = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(source="created_at", read_only=True)

    def get_page_access_group_ids(self, member) -> list[str]:
        return [member.customer.public_id]


class PageAccessUserInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    external_login = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Ignored (no IdP logins)."
    )
    page_access_group_ids = serializers.ListField(
        child=ObjectId(),
        min_length=1,
        max_length=1,
        required=False,
        help_text="Exactly one group: a person belongs to one customer.",
    )
    page_access_group_id = ObjectId(required=False)
    subscribe_to_components = serializers.BooleanField(
        required=False, help_text="Ignored: people subscribe themselves."
    )


class PageAccessUserBody(serializers.Serializer):
    page_access_user = PageAccessUserInput()
