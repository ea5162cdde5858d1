from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def consent_signing_key_check(app_configs, **kwargs):
    """Refuse a deployment that would sign consent records with a generated development key or name no BIN."""
    errors = []
    if not settings.CONSENT_SIGNING_KEY:
        errors.append(
            Error(
                "CONSENT_SIGNING_KEY is not set: consent records would be signed with a development key.",
                hint="Generate one with `manage.py consent_signing_key` and set it in the environment.",
                id="records.E001",
            )
        )
    if not settings.ORGANISATION_BIN:
        errors.append(
            Error(
                "ORGANISATION_BIN is not set: consent records must name the controller by its BIN.",
                id="records.E002",
            )
        )
    return errors
