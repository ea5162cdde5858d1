"""Reads of policy versions. The current version is cached and replaced in O(1) on publication."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache

from .models import PolicyText, PolicyVersion

CURRENT_CACHE_KEY = "policies:current:v1"
COMPANY_TZ = ZoneInfo("Asia/Almaty")


@dataclass(frozen=True)
class CurrentPolicy:
    """What a page view needs to know about the version in force; small and cache-friendly."""

    id: int
    number: int
    published_at: datetime
    implicit_acceptance_at: datetime | None


def implicit_acceptance_deadline(*, published_at: datetime, days: int) -> datetime | None:
    """Return the moment from which continued use counts as acceptance, or None when turned off.

    A term in days starts the day after the publication date and ends at 24:00 of its last day, in the
    company's time zone: published any time on 1 March with 7 days gives 9 March 00:00 Almaty.
    """
    if days <= 0:
        return None
    publication_day: date = published_at.astimezone(COMPANY_TZ).date()
    end_day = publication_day + timedelta(days=days + 1)
    return datetime.combine(end_day, time.min, tzinfo=COMPANY_TZ)


def text_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def policy_version_current() -> PolicyVersion | None:
    """Return the published version with the highest number."""
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-number").first()


def policy_current_cached() -> CurrentPolicy | None:
    """Return the version in force from the cache, loading it once after each publication."""
    current = cache.get(CURRENT_CACHE_KEY)
    if current is None:
        current = policy_current_cache_refresh()
    return current or None


def policy_current_cache_refresh() -> CurrentPolicy | None:
    """Load the version in force and put it in the cache (an empty marker when there is none)."""
    version = policy_version_current()
    value = (
        CurrentPolicy(
            id=version.pk,
            number=version.number,
            published_at=version.published_at,
            implicit_acceptance_at=version.implicit_acceptance_at,
        )
        if version
        else False
    )
    cache.set(CURRENT_CACHE_KEY, value, timeout=None)
    return value or None


def policy_text_for(*, version: PolicyVersion, language: str) -> tuple[PolicyText | None, bool]:
    """Return the text in `language`, else the Kazakh one; the flag says whether it fell back."""
    texts = {text.language: text for text in version.texts.all()}
    if language in texts:
        return texts[language], False
    fallback = texts.get(settings.LANGUAGE_CODE) or next(iter(texts.values()), None)
    return fallback, True
