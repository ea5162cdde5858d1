"""Writes of the breach register: record, update, notify the authority, close, amend, and tell the people
affected. Each step is audited in its transaction; emails go through the outbox after commit."""

import hashlib
import logging
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.selectors import user_id_ranges, users_in_agreement
from apps.audit.services import audit_event_record
from apps.calendars import working_days
from apps.notifications.services import outbox_email_build, outbox_email_queue, outbox_fanout

from .models import Breach, BreachAmendment, BreachLetter, BreachNotice
from .selectors import breach_admin_path, breaches_unnotified

logger = logging.getLogger(__name__)

NOTICE_TOPIC = "breach.notice"
NOTICE_TEMPLATE = "breach_notice"
EDITABLE = ("discovered_at", "description", "data_categories", "people_affected", "measures")
AMENDABLE = (*EDITABLE, "authority_notified_at", "authority_method", "authority_reference")
LETTER_TYPES = ("application/pdf", "image/jpeg", "image/png")


class BreachError(Exception):
    """The step is not allowed in the breach's state; the message says why (translated)."""


def breach_due_at(*, discovered_at: datetime) -> datetime:
    """Return when the authority must have been told: the end (24:00 Almaty) of the working day after the day
    of discovery (Kazakh calendar, BREACH_NOTICE_WORKING_DAYS)."""
    return working_days.due_at_after(discovered_at, settings.BREACH_NOTICE_WORKING_DAYS)


def breach_deadlines_recompute(*, day: date, actor: Any = None) -> int:
    """Count again the deadline of every breach the authority has not been told of whose term spans `day`,
    after the working calendar changed that day; audit each that moved and return how many."""
    moved = 0
    start = working_days.end_of_day(day - timedelta(days=1))
    for breach in Breach.objects.filter(
        status=Breach.Status.OPEN, discovered_at__lt=working_days.end_of_day(day), notify_due_at__gt=start
    ).select_for_update():
        due_at = breach_due_at(discovered_at=breach.discovered_at)
        if due_at != breach.notify_due_at:
            before = breach.notify_due_at
            breach.notify_due_at = due_at
            breach.save(update_fields=["notify_due_at"])
            _audit(
                breach,
                action="breach.deadline_recompute",
                actor=actor,
                day=day.isoformat(),
                before=before.isoformat(),
                notify_due_at=due_at.isoformat(),
            )
            moved += 1
    return moved


def _locked(breach: Breach) -> Breach:
    return Breach.objects.select_for_update().get(pk=breach.pk)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


def _audit(breach: Breach, *, action: str, actor: Any, ip: str | None = None, **details) -> None:
    audit_event_record(
        actor=actor, action=action, target=breach, target_label=breach.reference, details=details, ip=ip
    )


def _check_discovery(discovered_at: datetime) -> None:
    if discovered_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"discovered_at": _("The time of discovery cannot be in the future.")})


def _mailbox_alert(breach: Breach) -> None:
    language = settings.PRIVACY_MAILBOX_LANGUAGE
    with translation.override(language):
        due = formats.date_format(timezone.localtime(breach.notify_due_at), "DATETIME_FORMAT")
        discovered = formats.date_format(timezone.localtime(breach.discovered_at), "DATETIME_FORMAT")
    outbox_email_queue(
        to=settings.PRIVACY_MAILBOX,
        template="breach_recorded",
        language=language,
        dedup_key=f"breach-recorded:{breach.pk}",
        topic="breach",
        object_id=breach.pk,
        context={
            "reference": breach.reference,
            "discovered": discovered,
            "due": due,
            "people_affected": breach.people_affected,
            "description": breach.description,
            "data_categories": breach.data_categories,
            "admin_path": breach_admin_path(breach),
        },
    )


def breach_record(
    *,
    actor: Any,
    discovered_at: datetime,
    description: str,
    data_categories: str,
    people_affected: int,
    measures: str = "",
    ip: str | None = None,
) -> Breach:
    """Register a breach, compute its deadline, audit it and email the privacy mailbox at once."""
    _check_discovery(discovered_at)
    with transaction.atomic():
        breach = Breach(
            reference=uuid.uuid4().hex[:20],
            discovered_at=discovered_at,
            description=description.strip(),
            data_categories=data_categories.strip(),
            people_affected=people_affected,
            measures=measures.strip(),
            notify_due_at=breach_due_at(discovered_at=discovered_at),
            recorded_by=actor,
        )
        breach.full_clean(exclude=["reference"])
        breach.save()
        breach.reference = f"BR-{working_days.local_date(discovered_at).year}-{breach.pk:04d}"
        Breach.objects.filter(pk=breach.pk).update(reference=breach.reference)
        _audit(
            breach,
            action="breach.record",
            actor=actor,
            ip=ip,
            discovered_at=discovered_at.isoformat(),
            notify_due_at=breach.notify_due_at.isoformat(),
            people_affected=people_affected,
        )
        _mailbox_alert(breach)
    return breach


def breach_update(*, breach: Breach, actor: Any, changes: dict[str, Any], ip: str | None = None) -> Breach:
    """Change the facts of a breach that is not closed; audited with each value before and after."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise BreachError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    with transaction.atomic():
        breach = _locked(breach)
        if breach.is_closed:
            raise BreachError(_("A closed breach changes only by an amendment with a reason."))
        changed = {name: value for name, value in changes.items() if getattr(breach, name) != value}
        if not changed:
            return breach
        if "discovered_at" in changed:
            _check_discovery(changed["discovered_at"])
        before = {name: _text(getattr(breach, name)) for name in changed}
        for name, value in changed.items():
            setattr(breach, name, value)
        breach.notify_due_at = breach_due_at(discovered_at=breach.discovered_at)
        breach.full_clean()
        breach.save()
        _audit(
            breach,
            action="breach.update",
            actor=actor,
            ip=ip,
            changes={name: [before[name], _text(value)] for name, value in changed.items()},
        )
    return breach


def _letter_save(*, breach: Breach, upload: Any, actor: Any) -> BreachLetter:
    if upload.size > settings.BREACH_LETTER_MAX_BYTES:
        raise ValidationError({"letter": _("The letter is too large.")})
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0]
    if content_type not in LETTER_TYPES:
        raise ValidationError({"letter": _("Attach the letter as a PDF, JPEG or PNG file.")})
    data = upload.read()
    return BreachLetter.objects.create(
        breach=breach,
        file_name=(upload.name or "letter")[:200],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor,
    )


def breach_authority_notify(
    *,
    breach: Breach,
    actor: Any,
    notified_at: datetime,
    method: str,
    reference: str = "",
    letter: Any = None,
    ip: str | None = None,
) -> Breach:
    """Record when and how the authority was told, with its reference and the letter sent."""
    if method not in Breach.Method.values:
        raise ValidationError({"method": _("Choose how the authority was notified.")})
    if notified_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"notified_at": _("The time of the notice cannot be in the future.")})
    with transaction.atomic():
        breach = _locked(breach)
        if breach.status != Breach.Status.OPEN:
            raise BreachError(_("The notice to the authority is recorded already."))
        if notified_at < breach.discovered_at:
            raise ValidationError(
                {"notified_at": _("The authority cannot have been told before the discovery.")}
            )
        breach.status = Breach.Status.NOTIFIED
        breach.authority_notified_at = notified_at
        breach.authority_method = method
        breach.authority_reference = reference.strip()
        breach.save()
        stored = _letter_save(breach=breach, upload=letter, actor=actor) if letter is not None else None
        _audit(
            breach,
            action="breach.authority_notify",
            actor=actor,
            ip=ip,
            notified_at=notified_at.isoformat(),
            method=method,
            reference=breach.authority_reference,
            late=notified_at > breach.notify_due_at,
            letter_sha256=stored.sha256 if stored else "",
        )
    return breach


def breach_close(*, breach: Breach, actor: Any, ip: str | None = None) -> Breach:
    """Close a breach whose notice to the authority is recorded; from then on it changes only by amendment."""
    with transaction.atomic():
        breach = _locked(breach)
        if breach.status != Breach.Status.NOTIFIED:
            raise BreachError(_("Record the notice to the authority before closing the breach."))
        breach.status = Breach.Status.CLOSED
        breach.closed_at = timezone.now()
        breach.save()
        _audit(breach, action="breach.close", actor=actor, ip=ip)
    return breach


def breach_amend(
    *, breach: Breach, actor: Any, field: str, value: Any, reason: str, ip: str | None = None
) -> BreachAmendment:
    """Change one fact of a closed breach, keeping the old value, the reason and the author."""
    if field not in AMENDABLE:
        raise ValidationError({"field": _("This field cannot be amended.")})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason for the amendment.")})
    with transaction.atomic():
        breach = _locked(breach)
        if not breach.is_closed:
            raise BreachError(_("An open breach is changed directly; amendments are for closed ones."))
        old = _text(getattr(breach, field))
        setattr(breach, field, value)
        if field == "discovered_at":
            breach.notify_due_at = breach_due_at(discovered_at=breach.discovered_at)
        breach.full_clean()
        breach.save()
        amendment = BreachAmendment.objects.create(
            breach=breach,
            field=field,
            old_value=old,
            new_value=_text(value),
            reason=reason.strip(),
            actor=actor,
        )
        _audit(
            breach,
            action="breach.amend",
            actor=actor,
            ip=ip,
            field=field,
            old=old,
            new=_text(value),
            reason=amendment.reason,
        )
    return amendment


# --- Telling the people affected --------------------------------------------------------------------


def breach_notice_recipients(notice: BreachNotice) -> QuerySet:
    """Return the users a notice goes to (erased accounts never; for a list, any account still there).

    A person whose data is blocked is told too: the notice is owed to them, not processing for a purpose.
    """
    User = get_user_model()
    if notice.audience == BreachNotice.Audience.IDS:
        return User.objects.filter(pk__in=notice.user_ids, erased_at__isnull=True)
    users = users_in_agreement(blocked=True)
    if notice.audience == BreachNotice.Audience.JOINED:
        if notice.joined_from:
            users = users.filter(
                date_joined__gte=working_days.end_of_day(notice.joined_from - timedelta(days=1))
            )
        if notice.joined_to:
            users = users.filter(date_joined__lt=working_days.end_of_day(notice.joined_to))
    return users


def breach_notice_create(
    *,
    breach: Breach,
    actor: Any,
    audience: str,
    subject_kk: str,
    body_kk: str,
    subject_ru: str,
    body_ru: str,
    user_ids: list[int] | None = None,
    joined_from=None,
    joined_to=None,
    ip: str | None = None,
) -> BreachNotice:
    """Save a message to the people affected and, after commit, start writing it to each of them."""
    notice = BreachNotice(
        breach=breach,
        audience=audience,
        user_ids=sorted(set(user_ids or [])),
        joined_from=joined_from,
        joined_to=joined_to,
        subject_kk=subject_kk.strip(),
        body_kk=body_kk.strip(),
        subject_ru=subject_ru.strip(),
        body_ru=body_ru.strip(),
        created_by=actor,
    )
    if audience == BreachNotice.Audience.IDS and not notice.user_ids:
        raise ValidationError({"user_ids": _("Give at least one user id.")})
    if joined_from and joined_to and joined_from > joined_to:
        raise ValidationError({"joined_to": _("The end of the period is before its start.")})
    notice.full_clean()
    with transaction.atomic():
        notice.save()
        _audit(
            breach,
            action="breach.notice_create",
            actor=actor,
            ip=ip,
            notice=notice.pk,
            audience=audience,
            user_ids=notice.user_ids,
            joined_from=_text(joined_from),
            joined_to=_text(joined_to),
        )
        notice_id = notice.pk

        def start() -> None:
            from .tasks import breach_notice_send

            try:
                breach_notice_send.delay(notice_id)
            except Exception:  # broker down: the resume sweep starts it later
                logger.warning("Could not queue breach notice %s; the resume sweep will.", notice_id)

        transaction.on_commit(start)
    return notice


def breach_notice_contexts(notice: BreachNotice) -> dict[str, dict[str, Any]]:
    """Return the email's context per language: Kazakh, and Russian (also for those who chose English)."""
    kk = {"subject": notice.subject_kk, "body": notice.body_kk, "reference": notice.breach.reference}
    ru = {"subject": notice.subject_ru, "body": notice.body_ru, "reference": notice.breach.reference}
    return {"kk": kk, "ru": ru, "en": ru}


def breach_notice_fanout(*, notice: BreachNotice, chunk_ids: int | None = None) -> int:
    """Write the notice to the outbox once per recipient, in ranges of user ids, and queue delivery.

    Each range is one transaction that also moves the notice's cursor, so a stopped worker loses at most the
    range in flight and a rerun resumes after the last committed one; the key `breach-notice:<id>:<user id>`
    makes any overlap write nothing. Returns how many rows this call wrote.
    """
    chunk_ids = chunk_ids or settings.BREACH_NOTICE_CHUNK_IDS
    notice = BreachNotice.objects.select_related("breach").get(pk=notice.pk)
    if notice.finished_at is not None:
        return 0
    contexts = breach_notice_contexts(notice)
    recipients = breach_notice_recipients(notice)
    written = 0
    for lo, hi in user_id_ranges(size=chunk_ids, after=notice.cursor):
        with transaction.atomic():
            ids = outbox_fanout(
                recipients=recipients.filter(pk__gt=lo, pk__lte=hi),
                template=NOTICE_TEMPLATE,
                topic=NOTICE_TOPIC,
                object_id=notice.pk,
                dedup_prefix=f"breach-notice:{notice.pk}:",
                contexts=contexts,
            )
            BreachNotice.objects.filter(pk=notice.pk).update(
                cursor=Greatest(F("cursor"), hi), written=F("written") + len(ids)
            )
        written += len(ids)
    with transaction.atomic():
        finished = BreachNotice.objects.filter(pk=notice.pk, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
        if finished:
            notice.refresh_from_db()
            _audit(
                notice.breach,
                action="breach.notice_written",
                actor=None,
                notice=notice.pk,
                written=notice.written,
            )
    return written


def breach_notices_resume() -> list[int]:
    """Queue every notice whose fan-out has not finished (a worker stopped, the broker was down)."""
    from .tasks import breach_notice_send

    pending = list(
        BreachNotice.objects.filter(
            finished_at__isnull=True, created_at__lt=timezone.now() - timedelta(minutes=2)
        ).values_list("pk", flat=True)
    )
    for notice_id in pending:
        breach_notice_send.delay(notice_id)
    return pending


def breach_digest_send(*, now: datetime | None = None):
    """Email the privacy mailbox every breach whose notice to the authority is not recorded; nothing when
    there is none. Once a day."""
    now = now or timezone.now()
    open_breaches = list(breaches_unnotified())
    if not open_breaches:
        return None
    language = settings.PRIVACY_MAILBOX_LANGUAGE
    with translation.override(language):
        rows = [
            {
                "reference": breach.reference,
                "due": formats.date_format(timezone.localtime(breach.notify_due_at), "DATETIME_FORMAT"),
                "overdue": breach.notify_due_at <= now,
                "people_affected": breach.people_affected,
                "admin_path": breach_admin_path(breach),
            }
            for breach in open_breaches
        ]
    today = working_days.local_date(now)
    return outbox_email_queue(
        email=outbox_email_build(
            to=settings.PRIVACY_MAILBOX,
            template="breach_digest",
            language=language,
            dedup_key=f"breach-digest:{today.isoformat()}",
            topic="breach.digest",
            context={"rows": rows, "date": formats.date_format(today, "DATE_FORMAT")},
        )
    )
