from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app uses and no app owns. It has no models and imports no other app."""

    name = "apps.core"
    label = "core"

    def ready(self):
        from . import checks  # noqa: F401  registers the deploy check
        from .upstream_labels import upstream_labels_apply

        upstream_labels_apply()
