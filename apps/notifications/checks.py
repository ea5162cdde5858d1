from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def webhook_secret_check(app_configs, **kwargs):
    """Refuse a deployment whose delivery-tracking webhook would accept anyone's posts.

    The webhook is mounted (/anymail/<esp>/tracking/) whatever EMAIL_BACKEND is, and without a secret anyone
    could mark the portal's emails bounced or delivered.
    """
    if settings.ANYMAIL.get("WEBHOOK_SECRET") or getattr(settings, "ANYMAIL_WEBHOOK_SECRET", None):
        return []
    return [
        Error(
            "ANYMAIL_WEBHOOK_SECRET is not set: the delivery tracking webhook accepts unauthenticated posts.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password, long and random (docs/operations.md, section 3).",
            id="notifications.E001",
        )
    ]
