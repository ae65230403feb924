from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "statuspage.accounts"
    label = "accounts"
    verbose_name = _("Engineers' accounts")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (audit rows for sign-ins)
