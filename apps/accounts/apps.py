from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401  registers the deploy check
        from .security import staff_session_start

        user_logged_in.connect(staff_session_start, dispatch_uid="accounts.staff_session_start")
