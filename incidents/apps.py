from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Status pages")

    def ready(self):
        from django.db.models.signals import post_delete, post_migrate

        from .models import Page

        post_migrate.connect(_refresh_engineer_group, sender=self)
        post_delete.connect(_page_deleted, sender=Page, dispatch_uid="incidents.page_deleted")


def _refresh_engineer_group(sender, **kwargs):
    """Give the Engineers group the permissions of every model, new ones included."""
    from .permissions import ensure_engineer_group

    ensure_engineer_group()


def _page_deleted(sender, instance, **kwargs):
    """A deleted page's renderings are no longer answered by the public fast path (at once and
    again on commit)."""
    import functools

    from django.db import transaction

    from .snapshot import stamp_version

    stamp_version(instance, deleted=True)
    transaction.on_commit(functools.partial(stamp_version, instance, deleted=True))
