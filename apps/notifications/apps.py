from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from anymail.signals import tracking

        from . import checks  # noqa: F401  registers the deploy check
        from .receivers import tracking_received

        tracking.connect(tracking_received, dispatch_uid="notifications.tracking_received")
