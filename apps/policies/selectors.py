"""Reads of policy versions. The current version is cached and replaced in O(1) on publication."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format

from apps.notifications.models import OutboxEmail

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


def policy_version_current() -> PolicyVersion | None:
    """Return the published version with the highest number."""
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-number").first()


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


def announcement_key_prefix(*, version: PolicyVersion) -> str:
    return f"policy-announce:{version.number}:"


def reminder_key_prefix(*, version: PolicyVersion) -> str:
    return f"policy-reminder:{version.number}:"


def policy_recipients_count() -> int:
    """Return how many users an announcement published now would go to."""
    return (
        get_user_model()
        .objects.filter(agreement_status="active", erased_at__isnull=True, is_active=True)
        .count()
    )


@dataclass(frozen=True)
class MailProgress:
    total: int
    pending: int
    sending: int
    sent: int
    failed: int

    @property
    def queued(self) -> int:
        return self.pending + self.sending


def policy_mail_progress(*, template: str, key_prefix: str) -> MailProgress:
    """Count outbox rows of one announcement or reminder by status (an index-only scan on PostgreSQL)."""
    rows = (
        OutboxEmail.objects.filter(template=template, dedup_key__startswith=key_prefix)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["status"]: row["n"] for row in rows}
    return MailProgress(
        total=sum(counts.values()),
        pending=counts.get("pending", 0),
        sending=counts.get("sending", 0),
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
    )


def format_moment(*, moment: datetime | None, language: str) -> str:
    """Return a date and time in the company's time zone, written in `language`."""
    if moment is None:
        return ""
    local = moment.astimezone(COMPANY_TZ)
    with translation.override(language):
        return f"{date_format(local, 'DATE_FORMAT')}, {local:%H:%M}"


def policy_versions_due_for_reminder(*, now: datetime | None = None) -> QuerySet[PolicyVersion]:
    """Return published versions whose reminder is due: POLICY_REMINDER_DAYS_BEFORE days or less before
    their deadline, and the deadline not passed yet (a reminder after it would be pointless)."""
    now = now or timezone.now()
    return policy_versions_published().filter(
        implicit_acceptance_at__gt=now,
        implicit_acceptance_at__lte=now + timedelta(days=settings.POLICY_REMINDER_DAYS_BEFORE),
    )
