"""The outbox: every email is a row first, delivered after commit, at most once."""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, models, transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from config.db import Rows, rows_insert

from .models import OutboxEmail

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The provider refused or could not be reached; the row stays pending for a later attempt."""


def outbox_email_queue(**fields: Any) -> OutboxEmail | None:
    """Write one email (the fields of outbox_email_build) to the outbox, idempotent by its dedup_key, and
    deliver it after commit. Returns the new row, or None when a row with this key exists already."""
    email = outbox_email_build(**fields)
    return email if outbox_emails_queue(emails=[email]) else None


def outbox_email_build(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str,
    dedup_key: str,
    reply_to: str = "",
    user: Any = None,
) -> OutboxEmail:
    """Return an unsaved outbox row; outbox_emails_queue writes several in one statement."""
    return OutboxEmail(
        dedup_key=dedup_key,
        to=to,
        template=template,
        context=context,
        language=language,
        reply_to=reply_to,
        user=user if getattr(user, "pk", None) else None,
    )


def outbox_emails_queue(*, emails: list[OutboxEmail]) -> list[OutboxEmail]:
    """Write these rows to the outbox in one statement and deliver them after commit, in one task.

    A row whose dedup_key exists already is skipped; returns the rows written (their pk set).
    """
    rows_insert(outbox_rows(emails))
    return outbox_emails_schedule(emails=emails)


def outbox_rows(emails: list[OutboxEmail]) -> Rows:
    """Return the rows for `rows_insert`, which writes them with other rows of the same change; a row whose
    dedup_key exists already is skipped. Then call outbox_emails_schedule."""
    return Rows(emails, skip_duplicate="dedup_key")


def outbox_emails_schedule(*, emails: list[OutboxEmail]) -> list[OutboxEmail]:
    """Deliver after commit, in one task, those of these rows that were written; return them."""
    written = [email for email in emails if email.pk is not None]
    outbox_schedule_delivery(email_ids=[email.pk for email in written])
    return written


def outbox_schedule_delivery(*, email_ids: list[int]) -> None:
    """After commit, ask a worker to deliver these rows; if the broker is down the sweep will."""
    if not email_ids:
        return
    ids = list(email_ids)

    def enqueue() -> None:
        from .tasks import outbox_deliver_batch

        try:
            outbox_deliver_batch.delay(ids)
        except Exception:  # the broker is down: rows stay pending and the beat sweep delivers them
            logger.warning("Could not queue delivery of %d outbox emails; the sweep will retry.", len(ids))

    transaction.on_commit(enqueue)


def _render_plain(name: str, context: dict[str, Any]) -> str:
    """Render a plain-text part (subject, text body) without HTML escaping: `<` stays `<`, not `&lt;`."""
    return get_template(name).template.render(Context(context, autoescape=False))


def _render(email: OutboxEmail) -> EmailMultiAlternatives:
    context = {
        **email.context,
        "organisation_name": settings.ORGANISATION_NAME,
        "site_url": settings.SITE_URL,
        "privacy_mailbox": settings.PRIVACY_MAILBOX,
    }
    with translation.override(email.language):
        subject = _render_plain(f"emails/{email.template}.subject.txt", context).strip()
        text = _render_plain(f"emails/{email.template}.txt", context)
        html = render_to_string(f"emails/{email.template}.html", context)
    subject = " ".join(subject.splitlines())
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        headers={"Message-ID": f"<outbox-{email.pk}@{settings.SITE_URL.split('//')[-1].split('/')[0]}>"},
    )
    message.attach_alternative(html, "text/html")
    message.extra_headers["Content-Language"] = email.language
    return message


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


CLAIM_CHUNK = 25


def outbox_email_deliver(*, email_id: int) -> OutboxEmail | None:
    """Send one row if it is due and nobody else is sending it; see outbox_emails_deliver.

    Returns the row, or None when there was nothing to do. Raises DeliveryFailed when the provider failed
    and the row was put back for a later attempt.
    """
    result = outbox_emails_deliver(email_ids=[email_id])
    if result["retry"]:
        raise DeliveryFailed(result["errors"][0])
    return OutboxEmail.objects.get(pk=email_id) if result["claimed"] else None


def outbox_emails_deliver(*, email_ids: list[int]) -> dict:
    """Send every due row among `email_ids` that nobody else is sending. Never sends a row twice.

    Rows are claimed (status `sending`, attempts + 1) a few at a time in a committed transaction before the
    provider is called, so a second task, or a retry after a crash, finds nothing to do; a row a dead worker
    left in `sending` is never resent blindly (see outbox_sweep). A provider error puts the row back as
    pending with a growing backoff, or marks it failed after OUTBOX_MAX_ATTEMPTS.
    """
    result = {"claimed": 0, "sent": 0, "retry": 0, "failed": 0, "errors": []}
    ids = list(dict.fromkeys(email_ids))
    for start in range(0, len(ids), CLAIM_CHUNK):
        emails = _claim(ids[start : start + CLAIM_CHUNK])
        result["claimed"] += len(emails)
        sent = []
        for email in emails:
            try:
                message = _render(email)
                message.send()
            except Exception as exc:
                _record_failure(email, exc)
                key = "failed" if email.status == OutboxEmail.Status.FAILED else "retry"
                result[key] += 1
                result["errors"].append(email.last_error)
                continue
            status = getattr(message, "anymail_status", None)
            message_id = getattr(status, "message_id", None) if status else None
            email.provider_message_id = "" if message_id is None else str(message_id)[:200]
            sent.append(email)
        if sent:
            _record_sent(sent)
            result["sent"] += len(sent)
    return result


def _claim(ids: list[int]) -> list[OutboxEmail]:
    now = timezone.now()
    with transaction.atomic():
        due = list(
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status=OutboxEmail.Status.PENDING)
            .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
            .values_list("pk", flat=True)
        )
        if not due:
            return []
        OutboxEmail.objects.filter(pk__in=due).update(
            status=OutboxEmail.Status.SENDING,
            attempts=models.F("attempts") + 1,
            claimed_at=now,
            updated_at=now,
        )
    return list(OutboxEmail.objects.filter(pk__in=due).order_by("pk"))


def _record_sent(emails: list[OutboxEmail]) -> None:
    now = timezone.now()
    OutboxEmail.objects.filter(pk__in=[email.pk for email in emails]).update(
        status=OutboxEmail.Status.SENT, sent_at=now, updated_at=now, last_error="", claimed_at=None
    )
    with_ids = [email for email in emails if email.provider_message_id]
    if not with_ids:
        return
    if connection.vendor != "postgresql":
        OutboxEmail.objects.bulk_update(with_ids, ["provider_message_id"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OutboxEmail._meta.db_table} AS o SET provider_message_id = v.message_id "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::text[]) AS v(id, message_id) WHERE o.id = v.id",
            [[email.pk for email in with_ids], [email.provider_message_id for email in with_ids]],
        )


def _record_failure(email: OutboxEmail, exc: Exception) -> None:
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    email.claimed_at = None
    if email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        email.status = OutboxEmail.Status.FAILED
        email.next_attempt_at = None
    else:
        email.status = OutboxEmail.Status.PENDING
        email.next_attempt_at = timezone.now() + _backoff(email.attempts)
    email.save(update_fields=["status", "last_error", "claimed_at", "next_attempt_at", "updated_at"])
    logger.warning("Outbox email %s failed (attempt %s): %s", email.pk, email.attempts, type(exc).__name__)


def outbox_sweep(*, batch_size: int = 500) -> dict[str, int]:
    """Re-queue due rows that no worker picked up; give up on rows a dead worker left mid-send.

    A row left in `sending` may or may not have reached the provider; it is marked failed (not resent) so
    that nobody receives it twice, and staff can send it again from the admin.
    """
    now = timezone.now()
    stuck = OutboxEmail.objects.filter(
        status=OutboxEmail.Status.SENDING,
        claimed_at__lt=now - timedelta(minutes=settings.OUTBOX_STUCK_MINUTES),
    ).update(
        status=OutboxEmail.Status.FAILED,
        claimed_at=None,
        last_error="The worker stopped while sending; the outcome is unknown, so it was not resent.",
        updated_at=now,
    )
    due = list(
        OutboxEmail.objects.filter(
            status=OutboxEmail.Status.PENDING, created_at__lt=now - timedelta(seconds=30)
        )
        .exclude(next_attempt_at__gt=now)
        .order_by("id")
        .values_list("id", flat=True)[: batch_size * 20]
    )
    from .tasks import outbox_deliver_batch

    for start in range(0, len(due), batch_size):
        outbox_deliver_batch.delay(due[start : start + batch_size])
    return {"requeued": len(due), "stuck": stuck}


def outbox_email_resend(*, email: OutboxEmail, actor: Any) -> None:
    """Put a failed row back in the queue at a staff member's request."""
    from apps.audit.services import audit_event_record

    with transaction.atomic():
        updated = OutboxEmail.objects.filter(pk=email.pk, status=OutboxEmail.Status.FAILED).update(
            status=OutboxEmail.Status.PENDING, next_attempt_at=None, attempts=0, updated_at=timezone.now()
        )
        if updated:
            audit_event_record(actor=actor, action="outbox.resend", target=email)
            outbox_schedule_delivery(email_ids=[email.pk])


def outbox_personal_data_erase(*, user_ids: list[int], emails: list[str]) -> None:
    """Replace the address and the rendered context of emails to these users (retention erasure)."""
    rows = OutboxEmail.objects.filter(models.Q(user_id__in=user_ids) | models.Q(to__in=emails))
    rows.update(to="erased@erased.invalid", reply_to="", context={}, updated_at=timezone.now())


# Delivery reports by strength: a later, weaker report (a late "delivered") never hides a bounce or complaint.
_TRACKING_RANK = {
    OutboxEmail.Tracking.NONE: 0,
    OutboxEmail.Tracking.DELIVERED: 1,
    OutboxEmail.Tracking.REJECTED: 2,
    OutboxEmail.Tracking.BOUNCED: 2,
    OutboxEmail.Tracking.COMPLAINED: 3,
}


def outbox_tracking_record(*, provider_message_id: str, status: str, detail: str = "") -> int:
    """Record the provider's delivery report on the outbox rows it sent with this message id.

    Returns how many rows changed. Unknown ids change nothing (the provider may report on mail the portal
    did not send through the outbox).
    """
    if not provider_message_id or status not in _TRACKING_RANK or status == OutboxEmail.Tracking.NONE:
        return 0
    stronger = [value for value, rank in _TRACKING_RANK.items() if rank > _TRACKING_RANK[status]]
    return (
        OutboxEmail.objects.filter(provider_message_id=provider_message_id)
        .exclude(tracking_status__in=stronger)
        .update(tracking_status=status, tracking_detail=(detail or "")[:500], updated_at=timezone.now())
    )
