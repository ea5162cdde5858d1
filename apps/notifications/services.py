"""The outbox: every email is a row first, delivered after commit, at most once."""

import json
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from apps.core.http import outbound_post
from apps.core.organisation import organisation_name
from apps.core.signing import webhook_signature

from .models import OutboxEmail, WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)

ERASED_EMAIL = "erased@erased.invalid"


def outbox_email_queue(*, email: OutboxEmail | None = None, **fields: Any) -> OutboxEmail | None:
    """Write one email (built by outbox_email_build, or its fields) to the outbox and deliver it after commit.

    Returns the new row, or None when a row with its dedup_key exists already (a daily digest written
    twice, a link asked for again).
    """
    email = email or outbox_email_build(**fields)
    if OutboxEmail.objects.filter(dedup_key=email.dedup_key).exists():
        return None
    return outbox_emails_queue(emails=[email])[0]


def outbox_email_build(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str,
    dedup_key: str,
    topic: str = "",
    object_id: int | None = None,
    reply_to: str = "",
    user: Any = None,
) -> OutboxEmail:
    """Return an unsaved outbox row about `topic` / `object_id`; outbox_emails_queue writes it."""
    return OutboxEmail(
        dedup_key=dedup_key,
        topic=topic,
        object_id=object_id,
        to=to,
        template=template,
        context=context,
        language=language,
        reply_to=reply_to,
        user=user if getattr(user, "pk", None) else None,
    )


def outbox_email_hold(*, email: OutboxEmail) -> OutboxEmail | None:
    """Write `email` to the outbox held: it is not sent until outbox_email_release completes it (a letter
    whose facts are still coming in). Returns the row, or None when its dedup_key exists already."""
    email.status = OutboxEmail.Status.HELD
    if OutboxEmail.objects.filter(dedup_key=email.dedup_key).exists():
        return None
    email.save()
    return email


def outbox_email_held_add(*, dedup_key: str, key: str, item: Any) -> bool:
    """Append `item` to the list `key` of the context of the held email with this key (a fact the letter
    waits for, as it comes in); False when no such email is held. The row stays locked until the caller's
    transaction ends, so facts added at the same time are all kept."""
    with transaction.atomic():
        email = (
            OutboxEmail.objects.select_for_update()
            .filter(dedup_key=dedup_key, status=OutboxEmail.Status.HELD)
            .first()
        )
        if email is None:
            return False
        email.context = {**email.context, key: [*email.context.get(key, []), item]}
        email.save(update_fields=["context", "updated_at"])
    return True


def outbox_email_release(*, dedup_key: str) -> OutboxEmail | None:
    """Deliver the held email with this key after commit; return it, or None when no such email is held
    (released already)."""
    with transaction.atomic():
        email = (
            OutboxEmail.objects.select_for_update()
            .filter(dedup_key=dedup_key, status=OutboxEmail.Status.HELD)
            .first()
        )
        if email is None:
            return None
        email.status = OutboxEmail.Status.PENDING
        email.save(update_fields=["status", "updated_at"])
        outbox_schedule_delivery(email_ids=[email.pk])
    return email


def outbox_emails_queue(*, emails: list[OutboxEmail]) -> list[OutboxEmail]:
    """Write these rows to the outbox, in one statement, and deliver them after commit, in one task.

    A row whose dedup_key exists already is kept as it is (its key is written over with itself), so a
    retried change sends nothing twice: delivery claims only rows still pending. Returns the rows, each
    with its id.
    """
    OutboxEmail.objects.bulk_create(
        emails, update_conflicts=True, unique_fields=["dedup_key"], update_fields=["dedup_key"]
    )
    outbox_schedule_delivery(email_ids=[email.pk for email in emails])
    return emails


def outbox_fanout(
    *,
    recipients: QuerySet,
    template: str,
    topic: str,
    object_id: int,
    dedup_prefix: str,
    contexts: dict[str, dict[str, Any]],
    batch_size: int = 500,
) -> list[int]:
    """Write one email to each of `recipients` in one INSERT ... SELECT, deliver them after commit, and
    return the ids written.

    `recipients` is a queryset of users (pk, email, language, full_name). Each email is in the user's
    language, with that language's context from `contexts` (the default language's when theirs is missing)
    and the user's full_name. Its key is `<dedup_prefix><user id>`: a recipient written already is skipped,
    so a rerun writes nothing twice. Callers take users in ranges of ids, one range per call and transaction.
    """
    qn = connection.ops.quote_name
    users_sql, users_params = recipients.values(
        r_id=models.F("pk"),
        r_email=models.F("email"),
        r_language=models.F("language"),
        r_full_name=models.F("full_name"),
    ).query.sql_with_params()
    default = settings.LANGUAGE_CODE
    others = [code for code, _name in settings.LANGUAGES if code != default]
    payloads = {
        code: json.dumps(contexts.get(code) or contexts[default], ensure_ascii=False)
        for code in [*others, default]
    }
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    language_case = "CASE r.r_language " + "WHEN %s THEN %s " * len(others) + "ELSE %s END"
    language_params = [value for code in others for value in (code, code)] + [default]
    context_case = "CASE r.r_language " + f"WHEN %s THEN {cast} " * len(others) + f"ELSE {cast} END"
    context_params = [value for code in others for value in (code, payloads[code])]
    context_params.append(payloads[default])
    if connection.vendor == "postgresql":
        context = f"jsonb_build_object('full_name', r.r_full_name) || ({context_case})"
    else:
        context = f"json_set({context_case}, '$.full_name', r.r_full_name)"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = {
        "dedup_key": ("%s || CAST(r.r_id AS text)", [dedup_prefix]),
        "topic": ("%s", [topic]),
        "object_id": ("%s", [object_id]),
        "template": ("%s", [template]),
        "to": ("r.r_email", []),
        "reply_to": ("''", []),
        "language": (language_case, language_params),
        "context": (context, context_params),
        "user": ("r.r_id", []),
        "status": ("%s", [OutboxEmail.Status.PENDING]),
        "attempts": ("0", []),
        "last_error": ("''", []),
        "provider_message_id": ("''", []),
        "tracking_status": ("''", []),
        "tracking_detail": ("''", []),
        "created_at": ("%s", [now]),
        "updated_at": ("%s", [now]),
    }
    names = ", ".join(qn(OutboxEmail._meta.get_field(name).column) for name in columns)
    values = ", ".join(sql for sql, _params in columns.values())
    params = [value for _sql, column_params in columns.values() for value in column_params]
    # Every identifier comes from model metadata and every value is a parameter. `WHERE true` keeps SQLite
    # from reading ON CONFLICT as a join's ON.
    sql = (
        f"INSERT INTO {qn(OutboxEmail._meta.db_table)} ({names}) "  # noqa: S608
        f"SELECT {values} FROM ({users_sql}) r WHERE true "
        f"ON CONFLICT ({qn(OutboxEmail._meta.get_field('dedup_key').column)}) DO NOTHING "
        f"RETURNING {qn(OutboxEmail._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *users_params])
        ids = sorted(row[0] for row in cursor.fetchall())
    for start in range(0, len(ids), batch_size):
        outbox_schedule_delivery(email_ids=ids[start : start + batch_size])
    return ids


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


def _context(email: OutboxEmail) -> dict[str, Any]:
    return {
        **email.context,
        "organisation_name": organisation_name(email.language),
        "site_url": settings.SITE_URL,
        "privacy_mailbox": settings.PRIVACY_MAILBOX,
    }


def _subject(email: OutboxEmail, context: dict[str, Any]) -> str:
    subject = _render_plain(f"emails/{email.template}.subject.txt", context).strip()
    return " ".join(subject.splitlines())


def outbox_email_subject(email: OutboxEmail) -> str:
    """Return the subject line of an email as it was (or will be) sent, in its language; the name of its
    template when its context was erased or its template is gone."""
    from .labels import template_label

    if not email.context:
        return template_label(email.template)
    with translation.override(email.language):
        try:
            return _subject(email, _context(email))
        except TemplateDoesNotExist:
            return template_label(email.template)


def _render(email: OutboxEmail) -> EmailMultiAlternatives:
    context = _context(email)
    with translation.override(email.language):
        subject = _subject(email, context)
        text = _render_plain(f"emails/{email.template}.txt", context)
        html = render_to_string(f"emails/{email.template}.html", context)
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
    for email in emails:
        email.status = OutboxEmail.Status.SENT
        email.sent_at = email.updated_at = now
        email.last_error = ""
        email.claimed_at = None
    fields = ["status", "sent_at", "updated_at", "last_error", "claimed_at", "provider_message_id"]
    with transaction.atomic():
        OutboxEmail.objects.bulk_update(emails, fields)
        erased = [email.pk for email in emails if email.erase_when_sent]
        if erased:
            from apps.audit.services import audit_personal_data_erase

            OutboxEmail.objects.filter(pk__in=erased).update(
                to=ERASED_EMAIL, reply_to="", context={}, tracking_detail="", updated_at=now
            )
            audit_personal_data_erase(targets={OutboxEmail._meta.label_lower: erased})


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


def outbox_personal_data_erase(
    *, user_ids: list[int] = (), emails: list[str] = (), topic: str = "", object_ids: list[int] = ()
) -> int:
    """Erase the personal data of emails (retention erasure): the address of those to these users or
    addresses, and the reply-to and rendered context of those too and of those about `topic` / `object_ids`
    (an email to the privacy mailbox about a person's request). Returns how many rows changed."""
    from apps.audit.services import audit_personal_data_erase

    now = timezone.now()
    to_person = models.Q(user_id__in=list(user_ids)) | models.Q(to__in=list(emails))
    ids = list(OutboxEmail.objects.filter(to_person).values_list("pk", flat=True))
    # A provider's error or delivery report may quote the address.
    changed = OutboxEmail.objects.filter(pk__in=ids).update(
        to=ERASED_EMAIL, reply_to="", context={}, last_error="", tracking_detail="", updated_at=now
    )
    if topic and object_ids:
        changed += OutboxEmail.objects.filter(topic=topic, object_id__in=list(object_ids)).update(
            reply_to="", context={}, updated_at=now
        )
    audit_personal_data_erase(targets={OutboxEmail._meta.label_lower: ids})
    return changed


def outbox_topic_personal_data_erase(*, topic: str, object_ids: list[int], emails: list[str]) -> int:
    """Erase the personal data of the emails about these objects only (a visitor's request, which belongs to
    no account): their reply-to and rendered context, and the address of those sent to `emails`. Emails to
    the same addresses about anything else stay. Returns how many rows changed."""
    from apps.audit.services import audit_personal_data_erase

    if not topic or not object_ids:
        return 0
    now = timezone.now()
    about = OutboxEmail.objects.filter(topic=topic, object_id__in=list(object_ids))
    ids = list(about.filter(to__in=list(emails)).values_list("pk", flat=True))
    changed = OutboxEmail.objects.filter(pk__in=ids).update(
        to=ERASED_EMAIL, reply_to="", context={}, last_error="", tracking_detail="", updated_at=now
    )
    changed += about.exclude(pk__in=ids).update(reply_to="", context={}, updated_at=now)
    audit_personal_data_erase(targets={OutboxEmail._meta.label_lower: ids})
    return changed


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
    did not send through the outbox). A row whose address was erased takes the status only: the report's
    detail may quote the address.
    """
    if not provider_message_id or status not in _TRACKING_RANK or status == OutboxEmail.Tracking.NONE:
        return 0
    stronger = [value for value, rank in _TRACKING_RANK.items() if rank > _TRACKING_RANK[status]]
    rows = OutboxEmail.objects.filter(provider_message_id=provider_message_id).exclude(
        tracking_status__in=stronger
    )
    now = timezone.now()
    return rows.exclude(to=ERASED_EMAIL).update(
        tracking_status=status, tracking_detail=(detail or "")[:500], updated_at=now
    ) + rows.filter(to=ERASED_EMAIL).update(tracking_status=status, tracking_detail="", updated_at=now)


# --- Webhooks: signed POSTs to the company's other services (docs/webhooks.md) -------------------

WEBHOOK_SIGNATURE_HEADER = "X-Alilo-Signature"
WEBHOOK_USER_AGENT = "AliloPrivacyPortal-Webhook/1"
WEBHOOK_BACKOFF_MAX = timedelta(minutes=30)


def webhook_delivery_build(
    *,
    event_id: uuid.UUID,
    event_type: str,
    endpoint_id: int,
    url: str,
    secret: str,
    body: str,
    user_id: int | None = None,
) -> WebhookDelivery:
    """Return an unsaved delivery of one event (its exact JSON `body`) to one receiver."""
    return WebhookDelivery(
        event_id=event_id,
        event_type=event_type,
        endpoint_id=endpoint_id,
        url=url,
        secret=secret,
        body=body,
        user_id=user_id,
    )


def webhook_deliveries_queue(*, deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """Write these deliveries in one statement and post them after commit.

    One row per event and receiver: a row whose (event_id, endpoint_id) exists already is kept as it is.
    Call it in the transaction of the change, so that the change and its deliveries commit together.
    """
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(
        deliveries,
        update_conflicts=True,
        unique_fields=["event_id", "endpoint_id"],
        update_fields=["event_id"],
    )
    webhook_schedule_delivery(delivery_ids=[delivery.pk for delivery in deliveries])
    return deliveries


def webhook_schedule_delivery(*, delivery_ids: list[int]) -> None:
    """After commit, ask a worker to post each delivery; if the broker is down the sweep will."""
    if not delivery_ids:
        return
    ids = list(delivery_ids)

    def enqueue() -> None:
        from .tasks import webhook_deliver

        try:
            for delivery_id in ids:
                webhook_deliver.delay(delivery_id)
        except Exception:  # the broker is down: rows stay pending and the beat sweep posts them
            logger.warning("Could not queue %d webhook deliveries; the sweep will retry.", len(ids))

    transaction.on_commit(enqueue)


def _webhook_post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery once; return (HTTP status or None, error text)."""
    body = delivery.body.encode("utf-8")
    answer = outbound_post(
        delivery.url,
        body=body,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        headers={
            "User-Agent": WEBHOOK_USER_AGENT,
            WEBHOOK_SIGNATURE_HEADER: webhook_signature(
                secret=delivery.secret, timestamp=int(time.time()), body=body
            ),
            "X-Alilo-Event": delivery.event_type,
            "X-Alilo-Event-Id": str(delivery.event_id),
            "X-Alilo-Delivery": str(delivery.pk),
        },
    )
    return answer.status, answer.error


def _webhook_backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), WEBHOOK_BACKOFF_MAX)


def _webhook_claim(delivery_id: int) -> WebhookDelivery | None:
    """Mark the delivery as being sent, in a committed transaction, if it is pending and due."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
            .first()
        )
        if delivery is None:
            return None
        delivery.status = WebhookDelivery.Status.SENDING
        delivery.attempts += 1
        delivery.claimed_at = now
        delivery.save(update_fields=["status", "attempts", "claimed_at", "updated_at"])
    return delivery


def webhook_delivery_attempt(*, delivery_id: int) -> timedelta | None:
    """Post the delivery if it is due and nobody else is posting it; record the attempt.

    A 2xx answer marks it delivered, and a delivered row is never posted again. Anything else (an error
    status, a redirect, a refused connection, a timeout) puts it back as pending with a growing wait, or
    marks it failed after WEBHOOK_MAX_ATTEMPTS. Return the wait before the next attempt, or None when there
    is none to make.
    """
    delivery = _webhook_claim(delivery_id)
    if delivery is None:
        return None
    started = timezone.now()
    clock = time.monotonic()
    status_code, error = _webhook_post(delivery)
    duration_ms = int((time.monotonic() - clock) * 1000)
    now = timezone.now()
    delivered = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        number = WebhookAttempt.objects.filter(delivery_id=delivery.pk).count() + 1
        WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            number=number,
            started_at=started,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error[:500],
        )
        rows = WebhookDelivery.objects.filter(pk=delivery.pk)
        if delivered:
            rows.exclude(status=WebhookDelivery.Status.DELIVERED).update(
                status=WebhookDelivery.Status.DELIVERED,
                delivered_at=now,
                next_attempt_at=None,
                claimed_at=None,
                last_error="",
                updated_at=now,
            )
            return None
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            rows.filter(status=WebhookDelivery.Status.SENDING).update(
                status=WebhookDelivery.Status.FAILED,
                next_attempt_at=None,
                claimed_at=None,
                last_error=error,
                updated_at=now,
            )
            logger.warning("Webhook delivery %s failed for good: %s", delivery.pk, error)
            return None
        wait = _webhook_backoff(delivery.attempts)
        rows.filter(status=WebhookDelivery.Status.SENDING).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=now + wait,
            claimed_at=None,
            last_error=error,
            updated_at=now,
        )
    logger.warning("Webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error)
    return wait


def webhook_sweep(*, batch_size: int = 500) -> dict[str, int]:
    """Post again what no worker did: deliveries left mid-post by a dead worker, and overdue ones.

    A delivery left `sending` may or may not have reached its receiver; it is posted again (receivers drop
    an event id they have seen), unless it has used up its attempts. Delivered rows are never touched.
    """
    now = timezone.now()
    stuck = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING,
        claimed_at__lt=now - timedelta(minutes=settings.WEBHOOK_STUCK_MINUTES),
    )
    note = "The worker stopped while posting; the outcome is unknown."
    failed = stuck.filter(attempts__gte=settings.WEBHOOK_MAX_ATTEMPTS).update(
        status=WebhookDelivery.Status.FAILED, claimed_at=None, last_error=note, updated_at=now
    )
    retried = stuck.update(
        status=WebhookDelivery.Status.PENDING,
        claimed_at=None,
        next_attempt_at=now,
        last_error=note,
        updated_at=now,
    )
    # A grace period, so that the task queued after commit (or its own retry) goes first.
    grace = now - timedelta(seconds=30)
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .filter(
            models.Q(next_attempt_at__isnull=True, created_at__lt=grace)
            | models.Q(next_attempt_at__lte=grace)
            | models.Q(next_attempt_at=now)
        )
        .order_by("id")
        .values_list("id", flat=True)[: batch_size * 20]
    )
    from .tasks import webhook_deliver

    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return {"requeued": len(due), "stuck": retried, "failed": failed}


def webhook_delivery_retry(*, delivery: WebhookDelivery, actor: Any) -> bool:
    """Put a failed delivery back in the queue, with all its attempts again, at a staff member's request."""
    from apps.audit.services import audit_event_record

    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.FAILED).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=None, attempts=0, updated_at=timezone.now()
        )
        if updated:
            audit_event_record(actor=actor, action="webhook.retry", target=delivery)
            webhook_schedule_delivery(delivery_ids=[delivery.pk])
    return bool(updated)


def webhook_endpoint_deliveries_update(*, endpoint_id: int, url: str, secret: str) -> int:
    """Send what a receiver is still owed to its current URL, signed with its current secret.

    Only pending and failed deliveries change; one being posted right now keeps what it was posted with.
    Returns how many changed.
    """
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id,
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED],
    ).update(url=url, secret=secret, updated_at=timezone.now())
