"""Who may manage which page: superusers every page, engineers the pages they are listed on."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.db.models import QuerySet

from .models import APIKey, Page

ENGINEER_GROUP = "Engineers"
# The page-manager role: may point a host name at a page. Not an engineer's permission: a host
# decides what visitors of a whole domain see.
MANAGE_HOSTS = "incidents.manage_page_hosts"


def ensure_engineer_group() -> Group:
    """The group whose members may use the admin for the status-page apps."""
    group, _ = Group.objects.get_or_create(name=ENGINEER_GROUP)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["incidents", "notifications"]
        ).exclude(codename=MANAGE_HOSTS.split(".")[1])
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


def site_host() -> str:
    """The main site's host name (from SITE_URL): `/` there is never a custom host's page."""
    return (urlsplit(settings.SITE_URL).hostname or "").lower().rstrip(".")


def can_manage_hosts(actor) -> bool:
    """Superusers, users given the page-manager permission, and API keys not limited to pages
    may set custom hosts; engineers and page-limited keys may not."""
    if isinstance(actor, AbstractUser):
        return actor.is_active and (actor.is_superuser or actor.has_perm(MANAGE_HOSTS))
    if isinstance(actor, APIKey):
        return not actor.pages.exists()
    return actor is None or not hasattr(actor, "pk")  # the system (commands, imports)
