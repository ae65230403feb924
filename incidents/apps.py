from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Status pages")

    def ready(self):
        from django.db.models.signals import post_migrate

        post_migrate.connect(_refresh_engineer_group, sender=self)


def _refresh_engineer_group(sender, **kwargs):
    """Give the Engineers group the permissions of every model, new ones included."""
    from .permissions import ensure_engineer_group

    ensure_engineer_group()
