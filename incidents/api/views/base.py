"""The management API's base: API-key auth, JSON only, one error shape, lookups and paging.

Every endpoint module (one per resource) builds on `ManageView`. Views read the request, find
the objects the key may see, and call `incidents.services` for every write with the API key as
the actor. Lists run a fixed number of queries whatever their length.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django.conf import settings
from django.db.models import Prefetch, Q
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from incidents.models import (
    APIKey,
    Component,
    ComponentGroup,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Page,
    is_public_id,
)
from incidents.services import ServiceError, rules

from .. import serializers as s
from ..authentication import APIKeyAuthentication
from ..errors import PayloadTooLarge, api_exception_handler
from ..permissions import HasAPIKey, pages_for_key

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


def api_id(value: Any) -> Q:
    """The rows an id from a path or a body names: a public id, or for a transition the
    database id in digits (integrations kept those before ids were public ones); no row for
    anything else (never a database error for "abc" or a 30-digit number)."""
    text = str(value)
    if is_public_id(text):
        return Q(public_id=text)
    if text.isascii() and text.isdigit() and 0 < int(text) <= s.MAX_ID:
        return Q(pk=int(text))
    return Q(pk__in=[])


def incidents_of(page: Page):
    """Incidents with everything the serializer reads: 3 queries for any number of them."""
    return Incident.objects.filter(page=page).prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
        Prefetch(
            "affected",
            queryset=IncidentComponent.objects.select_related("component__group"),
        ),
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

    def object_or_404(self, queryset, value):
        """The object of `queryset` (already limited to the page) an API id names, or 404."""
        found = queryset.filter(api_id(value)).first()
        if found is None:
            name = queryset.model._meta.verbose_name
            raise exceptions.NotFound(f"No {name} with id {str(value)[:40]}.")
        return found

    def components_by_id(
        self, ids, *, field: str, code: str = "unknown_component"
    ) -> dict[str, Component]:
        """{API id as sent: component} for ids of this page's components (one query), or an
        error naming the ids that are not."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return {}
        lookup = Q(pk__in=[])
        for value in wanted:
            lookup |= api_id(value)
        found: dict[str, Component] = {}
        for component in Component.objects.filter(page=self.page).filter(lookup):
            found[component.public_id] = component
            found[str(component.pk)] = component
        missing = [value for value in wanted if value not in found]
        if missing:
            raise ServiceError(
                f"No component with id {', '.join(missing)[:200]} on this page.",
                code=code,
                field=field,
            )
        return {value: found[value] for value in wanted}

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

    def group_or_error(self, group_id: str | None) -> ComponentGroup | None:
        if group_id is None:
            return None
        group = ComponentGroup.objects.filter(page=self.page).filter(api_id(group_id)).first()
        if group is None:
            raise ServiceError(
                f"No component group with id {group_id} on this page.",
                code="unknown_group",
                field="group_id",
            )
        return group
