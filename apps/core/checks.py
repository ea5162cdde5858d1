from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def site_url_https_check(app_configs, **kwargs):
    """Refuse a deployment whose emailed links (status, confirmation, password reset) are not HTTPS."""
    parts = urlsplit(settings.SITE_URL)
    if parts.scheme == "https" and parts.hostname:
        return []
    return [
        Error(
            f"SITE_URL ({settings.SITE_URL!r}) is not an https:// address: the links the portal emails, "
            "which carry tokens, would travel over plain HTTP.",
            hint="Set SITE_URL to the portal's public address, e.g. https://privacy.alilo.kz.",
            id="core.E001",
        )
    ]
