from django.conf import settings
from django.utils.functional import lazy

from apps.core.organisation import organisation_name


def portal(request):
    return {
        "ORGANISATION_NAME": lazy(organisation_name, str)(),
        "PRIVACY_MAILBOX": settings.PRIVACY_MAILBOX,
    }
