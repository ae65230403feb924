"""Who may do what through the API: a valid key reads; a read-write key writes; a key limited
to some pages sees only those (any other page is a 404, as if it did not exist)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from rest_framework import exceptions, permissions

from incidents.models import APIKey, APIKeyPage, Page


class HasAPIKey(permissions.BasePermission):
    message = "Send an API key as `Authorization: OAuth <key>` or `Bearer <key>`."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, APIKey):
            raise exceptions.NotAuthenticated(self.message)
        if request.method not in permissions.SAFE_METHODS and request.auth.is_read_only:
            raise exceptions.PermissionDenied("This API key is read-only.", code="read_only_key")
        return True


def pages_for_key(key: APIKey) -> QuerySet[Page]:
    """The pages a key may touch: its own list, or every page when it has none."""
    links = APIKeyPage.objects.filter(api_key_id=key.pk)
    return Page.objects.filter(Exists(links.filter(page_id=OuterRef("pk"))) | ~Exists(links))
