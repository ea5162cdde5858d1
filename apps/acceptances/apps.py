from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AcceptancesConfig(AppConfig):
    name = "apps.acceptances"
    label = "acceptances"
    verbose_name = _("Acceptances")
