from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MirrorConfig(AppConfig):
    name = "statuspage.mirror"
    label = "mirror"
    verbose_name = _("Static mirror")
    default_auto_field = "django.db.models.BigAutoField"
