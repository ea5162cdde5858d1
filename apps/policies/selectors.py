"""Reads of policy versions. The current version is cached and replaced in O(1) on publication."""

import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from time import monotonic
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

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


# --- Rendering -----------------------------------------------------------------------------------

CLAUSE_NUMBER = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\.\s+(\S.*)$", re.DOTALL)
SECTION_TITLE_MAX = 150


@dataclass(frozen=True)
class Clause:
    """One block of a policy body: a numbered section heading, a numbered clause, or a plain paragraph."""

    kind: str  # "section" | "clause" | "paragraph"
    number: str
    text: str

    @property
    def anchor(self) -> str:
        return self.number


@lru_cache(maxsize=64)
def _clauses(body: str) -> tuple[Clause, ...]:
    blocks = [block.strip() for block in re.split(r"\n\s*\n", body.replace("\r\n", "\n").replace("\r", "\n"))]
    clauses: list[Clause] = []
    seen: set[str] = set()
    for block in blocks:
        if not block:
            continue
        match = CLAUSE_NUMBER.match(block)
        if match and match.group(1) not in seen:
            number = match.group(1)
            seen.add(number)
            text = match.group(2).strip()
            heading = "." not in number and len(text) <= SECTION_TITLE_MAX and "\n" not in text
            clauses.append(Clause(kind="section" if heading else "clause", number=number, text=text))
        else:
            clauses.append(Clause(kind="paragraph", number="", text=block))
    return tuple(clauses)


def policy_clauses(*, body: str) -> tuple[Clause, ...]:
    """Split a body into numbered sections ("1."), clauses ("2.6.") and plain paragraphs, in order.

    Blocks are separated by blank lines; the first occurrence of a number gets it as its anchor.
    """
    return _clauses(body)


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

TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class DiffPart:
    op: str  # "equal" | "insert" | "delete"
    text: str


def _diff_cache_key(old: str, new: str) -> str:
    return f"policies:diff:v1:{text_sha256(old)}:{text_sha256(new)}"


def policy_text_diff(*, old: str, new: str) -> list[DiffPart]:
    """Return a word-level diff of two bodies as equal / delete / insert runs.

    Cached by the two hashes: the result of two given bodies never changes.
    """
    key = _diff_cache_key(old, new)
    cached = cache.get(key)
    if cached is not None:
        return [DiffPart(op, text) for op, text in cached]
    old_tokens = TOKEN.findall(old)
    new_tokens = TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(a=old_tokens, b=new_tokens, autojunk=False)
    parts: list[DiffPart] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(DiffPart("equal", "".join(old_tokens[a1:a2])))
            continue
        if tag in ("delete", "replace"):
            parts.append(DiffPart("delete", "".join(old_tokens[a1:a2])))
        if tag in ("insert", "replace"):
            parts.append(DiffPart("insert", "".join(new_tokens[b1:b2])))
    cache.set(key, [(part.op, part.text) for part in parts], timeout=60 * 60 * 24 * 30)
    return parts


@dataclass(frozen=True)
class DiffBlock:
    """One clause of a diff: changed, added or removed (with its word diff), or a run of unchanged ones."""

    status: str  # "changed" | "added" | "removed" | "unchanged"
    number: str = ""
    parts: tuple[DiffPart, ...] = ()
    unchanged: int = 0


def _words(text: str, op: str) -> tuple[DiffPart, ...]:
    return (DiffPart(op, text),)


def policy_clause_diff(*, old: str, new: str) -> list[DiffBlock]:
    """Return a diff clause by clause: clauses are matched by number, changed ones get a word-level diff,
    and runs of unchanged clauses are folded into a count."""
    key = f"policies:clausediff:v1:{text_sha256(old)}:{text_sha256(new)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    a, b = policy_clauses(body=old), policy_clauses(body=new)

    def ident(clause: Clause) -> str:
        return f"#{clause.number}" if clause.number else clause.text

    blocks: list[DiffBlock] = []

    def unchanged() -> None:
        if blocks and blocks[-1].status == "unchanged":
            blocks[-1] = DiffBlock("unchanged", unchanged=blocks[-1].unchanged + 1)
        else:
            blocks.append(DiffBlock("unchanged", unchanged=1))

    def compare(before: Clause | None, after: Clause | None) -> None:
        if before is not None and after is not None:
            if before.text == after.text:
                unchanged()
            else:
                parts = tuple(policy_text_diff(old=before.text, new=after.text))
                blocks.append(DiffBlock("changed", number=after.number, parts=parts))
        elif after is not None:
            blocks.append(DiffBlock("added", number=after.number, parts=_words(after.text, "insert")))
        elif before is not None:
            blocks.append(DiffBlock("removed", number=before.number, parts=_words(before.text, "delete")))

    matcher = difflib.SequenceMatcher(a=[ident(c) for c in a], b=[ident(c) for c in b], autojunk=False)
    for _tag, a1, a2, b1, b2 in matcher.get_opcodes():
        olds, news = list(a[a1:a2]), list(b[b1:b2])
        paired = min(len(olds), len(news))
        for index in range(paired):
            compare(olds[index], news[index])
        for extra in olds[paired:]:
            compare(extra, None)
        for extra in news[paired:]:
            compare(None, extra)
    cache.set(key, blocks, timeout=60 * 60 * 24 * 30)
    return blocks


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
