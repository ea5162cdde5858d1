from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def admin_two_factor_check(app_configs, **kwargs):
    """Refuse a deployment whose staff would enter the admin with a password alone."""
    if settings.ADMIN_REQUIRE_2FA:
        return []
    return [
        Error(
            "ADMIN_REQUIRE_2FA is off: staff would reach the admin, and the personal data in it, with a "
            "password alone.",
            hint="Remove ADMIN_REQUIRE_2FA=false from the environment; production settings turn it on.",
            id="accounts.E001",
        )
    ]
