from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "apps.records"
    label = "records"
    verbose_name = _("Consent records")

    def ready(self) -> None:
        from . import checks  # noqa: F401
