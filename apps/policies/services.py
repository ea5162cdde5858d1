"""Writes of policy versions: drafts, texts, publication, and the emails that announce a version."""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.selectors import user_id_ranges, users_in_agreement
from apps.audit.services import audit_event_record
from apps.notifications.services import outbox_fanout

from .models import PolicyText, PolicyVersion
from .selectors import (
    ANNOUNCEMENT_TEMPLATE,
    ANNOUNCEMENT_TOPIC,
    format_moment,
    implicit_acceptance_deadline,
    policy_current_cache_refresh,
    policy_publish_problems,
    policy_text_for,
    policy_version_next_number,
    policy_version_previous,
)
from .text import text_sha256

logger = logging.getLogger(__name__)

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
FANOUT_CHUNK_IDS = 10_000
DELIVERY_BATCH = 500


def _refuse_if_published(version: PolicyVersion) -> None:
    published = PolicyVersion.objects.filter(pk=version.pk, status=PolicyVersion.Status.PUBLISHED)
    if version.pk and published.exists():
        raise ValidationError(
            _("Version %(number)s is published and can no longer be changed; write a new version instead.")
            % {"number": version.number},
            code="published",
        )


# --- Drafts ----------------------------------------------------------------------------------------


def policy_draft_create(*, actor: Any = None, number: int | None = None) -> PolicyVersion:
    """Create an empty draft with the given number, or the next free one."""
    version = PolicyVersion(number=number or policy_version_next_number())
    return policy_draft_save(version=version, actor=actor)


def policy_draft_save(*, version: PolicyVersion, actor: Any = None) -> PolicyVersion:
    """Create or update a draft version (its number); published versions are refused."""
    _refuse_if_published(version)
    version.status = PolicyVersion.Status.DRAFT
    version.published_at = None
    version.implicit_acceptance_at = None
    version.full_clean()
    creating = version.pk is None
    with transaction.atomic():
        version.save()
        audit_event_record(
            actor=actor,
            action="policy.draft_create" if creating else "policy.draft_update",
            target=version,
            details={"number": version.number},
        )
    return version


def policy_text_save(
    *,
    version: PolicyVersion,
    language: str,
    body: str,
    title: str = "",
    summary: str = "",
    actor: Any = None,
) -> PolicyText:
    """Write the text of a draft in one language (creating or replacing it)."""
    _refuse_if_published(version)
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise ValidationError(_("The text of the policy is empty."), code="empty")
    text = PolicyText.objects.filter(version=version, language=language).first() or PolicyText(
        version=version, language=language
    )
    text.title = (title or _("Privacy policy")).strip()[:200]
    text.summary = summary.strip()
    text.body = body
    text.body_sha256 = text_sha256(body)
    text.full_clean()
    with transaction.atomic():
        creating = text.pk is None
        text.save()
        audit_event_record(
            actor=actor,
            action="policy.text_create" if creating else "policy.text_update",
            target=version,
            details={"language": language, "sha256": text.body_sha256},
        )
    return text


def policy_text_delete(*, text: PolicyText, actor: Any = None) -> None:
    """Remove one language from a draft."""
    _refuse_if_published(text.version)
    with transaction.atomic():
        audit_event_record(
            actor=actor, action="policy.text_delete", target=text.version, details={"language": text.language}
        )
        text.delete()


def policy_draft_delete(*, version: PolicyVersion, actor: Any = None) -> None:
    """Delete a draft and its texts; published versions are refused."""
    _refuse_if_published(version)
    with transaction.atomic():
        audit_event_record(actor=actor, action="policy.draft_delete", target=version)
        version.delete()


# --- Publication -----------------------------------------------------------------------------------


def policy_version_publish(*, version: PolicyVersion, actor: Any = None) -> PolicyVersion:
    """Publish a draft: stamp the dates, then refresh the cache and announce it after commit.

    Refused when the version is published already, when a higher number is published, or when it has no
    Kazakh text.
    """
    with transaction.atomic():
        # Lock every version row (a small table) so two publications are serialised and ordered.
        locked = {v.pk: v for v in PolicyVersion.objects.select_for_update().order_by("pk")}
        current = locked.get(version.pk)
        if current is None:
            raise ValidationError(_("This version does not exist."), code="missing")
        problems = policy_publish_problems(version=current)
        if problems:
            raise problems[0]
        now = timezone.now()
        current.status = PolicyVersion.Status.PUBLISHED
        current.published_at = now
        current.implicit_acceptance_at = implicit_acceptance_deadline(
            published_at=now, days=settings.IMPLICIT_ACCEPTANCE_DAYS
        )
        current.published_by = actor if getattr(actor, "is_authenticated", False) else None
        current.save(
            update_fields=["status", "published_at", "implicit_acceptance_at", "published_by", "updated_at"]
        )
        audit_event_record(
            actor=actor,
            action="policy.publish",
            target=current,
            details={
                "number": current.number,
                "implicit_acceptance_at": current.implicit_acceptance_at.isoformat()
                if current.implicit_acceptance_at
                else None,
                "texts": {t.language: t.body_sha256 for t in current.texts.all()},
            },
        )
        version_id = current.pk

        def announce() -> None:
            from .tasks import policy_announce

            try:
                policy_announce.delay(version_id)
            except Exception:  # broker down: the announcement sweep starts it later
                logger.warning("Could not queue the announcement of policy version %s.", version_id)

        transaction.on_commit(policy_current_cache_refresh)
        transaction.on_commit(announce)
    version.refresh_from_db()
    return version


def policy_import(
    *,
    text: str,
    language: str,
    summary: str = "",
    title: str = "",
    number: int | None = None,
    add_to_version: int | None = None,
    publish: bool = False,
    actor: Any = None,
) -> PolicyVersion:
    """Create a version (or add a language to an existing draft) from a plain-text policy.

    The first non-empty line is the title unless one is given; the rest is the body.
    """
    if language not in LANGUAGE_CODES:
        raise ValidationError(
            _("Unknown language %(language)s; use one of %(choices)s.")
            % {"language": language, "choices": ", ".join(LANGUAGE_CODES)},
            code="language",
        )
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").strip().split("\n")
    if not title and len(lines) > 1:
        title, lines = lines[0].strip(), lines[1:]
    body = "\n".join(lines).strip()
    with transaction.atomic():
        if add_to_version is not None:
            version = PolicyVersion.objects.filter(number=add_to_version).first()
            if version is None:
                raise ValidationError(
                    _("There is no version %(number)s.") % {"number": add_to_version}, code="missing"
                )
        else:
            if number is not None and PolicyVersion.objects.filter(number=number).exists():
                raise ValidationError(
                    _("Version %(number)s exists already.") % {"number": number}, code="exists"
                )
            version = policy_draft_create(actor=actor, number=number)
        policy_text_save(
            version=version, language=language, body=body, title=title, summary=summary, actor=actor
        )
        if publish:
            version = policy_version_publish(version=version, actor=actor)
    return version


# --- Announcement and reminder emails ---------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def policy_email_context(*, version: PolicyVersion, language: str) -> dict[str, Any]:
    """Return what an announcement or reminder says about a version, written for `language`."""
    text, _fell_back = policy_text_for(version=version, language=language)
    previous = policy_version_previous(version=version)
    version_url = _absolute(reverse("policies:version", args=[version.number]))
    diff_url = _absolute(reverse("policies:diff", args=[previous.number, version.number])) if previous else ""
    return {
        "version_number": version.number,
        "title": text.title if text else "",
        "summary": text.summary if text else "",
        "version_url": version_url,
        "diff_url": diff_url,
        "accept_url": _absolute(f"/privacy/accept/{version.number}/"),
        "deadline": format_moment(moment=version.implicit_acceptance_at, language=language),
        "published": format_moment(moment=version.published_at, language=language),
    }


def policy_email_contexts(*, version: PolicyVersion) -> dict[str, dict[str, Any]]:
    """Return the announcement's or reminder's context in each language."""
    return {code: policy_email_context(version=version, language=code) for code in LANGUAGE_CODES}


def policy_announcement_fanout(
    *, version: PolicyVersion, chunk_ids: int = FANOUT_CHUNK_IDS, batch_size: int = DELIVERY_BATCH
) -> int:
    """Write the announcement of a published version to the outbox, one row per user, and queue delivery.

    Users are taken in ranges of ids, each range in its own transaction that also moves the version's cursor,
    so a crash loses at most the range in flight and a rerun resumes after the last committed one; the unique
    key `policy-announce:<number>:<user id>` makes any overlap write nothing. Only users with an active
    agreement who joined before the publication are told (later ones accept the version on sign-up).
    Returns how many rows this call wrote.
    """
    version = PolicyVersion.objects.get(pk=version.pk)
    if not version.is_published or version.announced_at is not None:
        return 0
    contexts = policy_email_contexts(version=version)
    recipients = users_in_agreement().filter(date_joined__lt=version.published_at)
    written = 0
    for lo, hi in user_id_ranges(size=chunk_ids, after=version.announcement_cursor):
        with transaction.atomic():
            ids = outbox_fanout(
                recipients=recipients.filter(pk__gt=lo, pk__lte=hi),
                template=ANNOUNCEMENT_TEMPLATE,
                topic=ANNOUNCEMENT_TOPIC,
                object_id=version.pk,
                dedup_prefix=f"policy-announce:{version.number}:",
                contexts=contexts,
                batch_size=batch_size,
            )
            PolicyVersion.objects.filter(pk=version.pk).update(
                announcement_cursor=Greatest(F("announcement_cursor"), hi),
                announcement_written=F("announcement_written") + len(ids),
                updated_at=timezone.now(),
            )
        written += len(ids)
    PolicyVersion.objects.filter(pk=version.pk, announced_at__isnull=True).update(
        announced_at=timezone.now(), updated_at=timezone.now()
    )
    logger.info("Announcement of policy version %s: %s emails written.", version.number, written)
    return written


def policy_announcements_resume() -> list[int]:
    """Queue the announcement of every version published over POLICY_ANNOUNCE_RESUME_AFTER_SECONDS ago whose
    fan-out has not finished. One that is still running meanwhile writes nothing twice (unique keys)."""
    from .tasks import policy_announce

    published_before = timezone.now() - timedelta(seconds=settings.POLICY_ANNOUNCE_RESUME_AFTER_SECONDS)
    pending = list(
        PolicyVersion.objects.filter(
            status=PolicyVersion.Status.PUBLISHED,
            announced_at__isnull=True,
            published_at__lt=published_before,
        ).values_list("pk", flat=True)
    )
    for version_id in pending:
        policy_announce.delay(version_id)
    return pending
