"""Reads of policy versions. The current version is cached and replaced in O(1) on publication."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.core.dates import COMPANY_TZ

from .models import PolicyText, PolicyVersion

CURRENT_CACHE_KEY = "policies:current:v1"


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


def implicit_acceptance_passed(*, deadline: datetime | None, now: datetime | None = None) -> bool:
    """Whether continued use counts as acceptance now: the feature is on and the deadline has passed."""
    if settings.IMPLICIT_ACCEPTANCE_DAYS <= 0 or deadline is None:
        return False
    return (now or timezone.now()) >= deadline


def policy_version_current() -> PolicyVersion | None:
    """Return the version in force: the published version with the highest number."""
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-number").first()


def policy_version_is_current(*, version: PolicyVersion | None) -> bool:
    """Whether `version` is the version in force (read from the database, not the cache)."""
    current = policy_version_current()
    return version is not None and current is not None and current.pk == version.pk


def policy_publish_problems(*, version: PolicyVersion) -> list[ValidationError]:
    """Return why `version` cannot be published now (nothing when it can): published already, a number
    not above the highest published one, or no Kazakh text."""
    problems = []
    if version.is_published:
        problems.append(
            ValidationError(
                _("Version %(number)s is published already.") % {"number": version.number}, code="published"
            )
        )
    highest = PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).aggregate(n=Max("number"))[
        "n"
    ]
    if not version.is_published and highest is not None and version.number <= highest:
        problems.append(
            ValidationError(
                _("Version %(number)s cannot be published after version %(highest)s; use a higher number.")
                % {"number": version.number, "highest": highest},
                code="order",
            )
        )
    if not version.texts.filter(language=settings.LANGUAGE_CODE).exists():
        problems.append(
            ValidationError(_("A version needs its Kazakh text before it can be published."), code="kk")
        )
    return problems


# The version in force as this process last read it, and until when (time.monotonic()) it may be reused.
_current_local: dict = {"value": None, "until": 0.0}


def policy_current_cached() -> CurrentPolicy | None:
    """Return the version in force from the cache, loading it once after each publication.

    Each process reuses what it read for POLICY_CURRENT_LOCAL_SECONDS, so the pages that need it on every
    request (the acceptance check, the policy page) do not pay a cache round trip each time.
    """
    keep = settings.POLICY_CURRENT_LOCAL_SECONDS
    now = monotonic()
    if keep > 0 and _current_local["until"] > now:
        return _current_local["value"]
    current = cache.get(CURRENT_CACHE_KEY)
    if current is None:
        current = policy_current_cache_refresh()
    current = current or None
    if keep > 0:
        _current_local.update(value=current, until=now + keep)
    return current


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
    _current_local["until"] = 0.0
    return value or None


def policy_text_for(*, version: PolicyVersion, language: str) -> tuple[PolicyText | None, bool]:
    """Return the text in `language`, else the Kazakh one; the flag says whether it fell back."""
    texts = {text.language: text for text in version.texts.all()}
    if language in texts:
        return texts[language], False
    fallback = texts.get(settings.LANGUAGE_CODE) or next(iter(texts.values()), None)
    return fallback, True


# --- Published versions ----------------------------------------------------------------------------


def policy_versions_published() -> QuerySet[PolicyVersion]:
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-number")


def policy_version_published_get(*, number: int) -> PolicyVersion | None:
    return policy_versions_published().filter(number=number).prefetch_related("texts").first()


def policy_version_previous(*, version: PolicyVersion) -> PolicyVersion | None:
    """Return the published version just before this one."""
    return policy_versions_published().filter(number__lt=version.number).first()


def policy_version_next_number() -> int:
    highest = PolicyVersion.objects.aggregate(highest=Max("number"))["highest"] or 0
    return highest + 1


# --- Diff ------------------------------------------------------------------------------------------


def policy_texts_for_diff(
    *, old: PolicyVersion, new: PolicyVersion, language: str
) -> tuple[PolicyText | None, PolicyText | None, bool]:
    """Return the two texts to compare in one language (Kazakh for both when either lacks it)."""
    old_text, old_fell_back = policy_text_for(version=old, language=language)
    new_text, new_fell_back = policy_text_for(version=new, language=language)
    if old_fell_back or new_fell_back:
        old_text, _ = policy_text_for(version=old, language=settings.LANGUAGE_CODE)
        new_text, _ = policy_text_for(version=new, language=settings.LANGUAGE_CODE)
        return old_text, new_text, language != settings.LANGUAGE_CODE
    return old_text, new_text, False


# --- Announcement ----------------------------------------------------------------------------------

ANNOUNCEMENT_TEMPLATE = "policy_announcement"
REMINDER_TEMPLATE = "policy_reminder"
# The outbox topics of these emails; their object is the version.
ANNOUNCEMENT_TOPIC = "policy.announcement"
REMINDER_TOPIC = "policy.reminder"


def format_moment(*, moment: datetime | None, language: str) -> str:
    """Return a date and time in the company's time zone, written in `language`."""
    if moment is None:
        return ""
    local = moment.astimezone(COMPANY_TZ)
    with translation.override(language):
        return f"{date_format(local, 'DATE_FORMAT')}, {local:%H:%M}"
