from django.conf import settings


def portal(request):
    return {
        "ORGANISATION_NAME": settings.ORGANISATION_NAME,
        "PRIVACY_MAILBOX": settings.PRIVACY_MAILBOX,
    }
