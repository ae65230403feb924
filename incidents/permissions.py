"""Who may do what on which page: superusers everything, engineers what their role on a page
allows (viewer < responder < page manager, `Role`), nothing on pages they have no role on."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.db.models import QuerySet

from .models import APIKey, Page, PageRole, Role

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


def pages_for(user, role: str = Role.VIEWER) -> QuerySet[Page]:
    """The pages on which `user` holds `role` or a higher one (every page for a superuser)."""
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return Page.objects.none()
    if user.is_superuser:
        return Page.objects.all()
    return Page.objects.filter(
        pk__in=PageRole.objects.filter(user=user, role__in=Role.at_least(role)).values("page")
    )


def has_role(user, page: Page | None, role: str = Role.VIEWER) -> bool:
    """Whether `user` may act as `role` on `page` (superusers may everywhere)."""
    if page is None or not getattr(user, "is_active", False):
        return False
    if not getattr(user, "is_staff", False):
        return False
    if user.is_superuser:
        return True
    return PageRole.objects.filter(page=page, user=user, role__in=Role.at_least(role)).exists()


def role_on(user, page: Page) -> str | None:
    """The user's role on the page (None without one); superusers count as page managers."""
    if getattr(user, "is_superuser", False):
        return Role.PAGE_MANAGER
    return PageRole.objects.filter(page=page, user=user).values_list("role", flat=True).first()


def can_manage(user, page: Page | None) -> bool:
    """May change the page's incidents, maintenance and reports (a responder or more)."""
    return has_role(user, page, Role.RESPONDER)


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
