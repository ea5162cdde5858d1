from django.conf import settings
from django.utils.translation import get_language


def organisation_name(language: str | None = None) -> str:
    """Return the organisation's name in `language` (default: the active one); Kazakh when it has none."""
    code = (language or get_language() or settings.LANGUAGE_CODE).split("-")[0].upper()
    return getattr(settings, f"ORGANISATION_NAME_{code}", "") or settings.ORGANISATION_NAME
