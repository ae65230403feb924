"""Who may manage which page: superusers every page, engineers the pages they are listed on."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import QuerySet

from .models import Page

ENGINEER_GROUP = "Engineers"


def ensure_engineer_group() -> Group:
    """The group whose members may use the admin for the status-page apps."""
    group, _ = Group.objects.get_or_create(name=ENGINEER_GROUP)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label__in=["incidents", "notifications"])
    )
    return group


def pages_for(user) -> QuerySet[Page]:
    if not getattr(user, "is_active", False):
        return Page.objects.none()
    if user.is_superuser:
        return Page.objects.all()
    return Page.objects.filter(engineers=user)


def can_manage(user, page: Page | None) -> bool:
    if page is None or not getattr(user, "is_active", False):
        return False
    return user.is_superuser or page.engineers.filter(pk=user.pk).exists()
