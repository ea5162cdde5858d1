from django.conf import settings
from django.core.checks import Warning, register


@register("notifications", deploy=True)
def webhook_secret_check(app_configs, **kwargs):
    """Warn when an ESP is configured but its tracking webhook would accept anyone's posts."""
    if not settings.EMAIL_BACKEND.startswith("anymail.backends."):
        return []
    if settings.EMAIL_BACKEND.startswith("anymail.backends.test"):
        return []
    if settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return []
    return [
        Warning(
            "ANYMAIL_WEBHOOK_SECRET is not set: the delivery tracking webhook accepts unauthenticated posts.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and use it in the ESP's webhook URL.",
            id="notifications.W001",
        )
    ]
