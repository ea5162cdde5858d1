"""Calls to connected services: written with the decision that needs them, posted after commit, retried
with a growing wait until the service answers, and never posted again after a final answer
(docs/connected-services.md)."""

import json
import logging
import math
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record, audit_personal_data_erase
from apps.core.http import outbound_post
from apps.core.signing import webhook_signature, webhook_signature_valid

from .models import (
    SERVICE_FIELDS,
    Action,
    ConnectedService,
    Field,
    ServiceCall,
    ServiceCallAttempt,
)
from .selectors import connected_services_active

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Alilo-Signature"
USER_AGENT = "AliloPrivacyPortal-Connector/1"
# How much of an answer or callback the attempt log keeps (the whole answer is the call's result).
ATTEMPT_BODY_KEPT = 2000
JSON_DEPTH_MAX = 40


# --- Starting calls -------------------------------------------------------------------------------


def service_calls_start(
    *, request: Any, action: str, changes: list[dict] | None = None, actor: Any = None
) -> list[ServiceCall]:
    """Owe every active service that can do `action` one call about `request`; post them after commit.

    Call it inside the caller's transaction, so that the decision and its calls commit together. For
    "correct", `changes` is a list of {"field": <Field>, "value": <new value>, "old": <optional>}, and only
    services holding one of the changed fields are called, each with the changes to its own fields. Calling
    it again for the same request and action makes nothing new. Returns every call of the request for that
    action (new and earlier), with its service.
    """
    if action not in Action.values:
        raise ValueError(f"Unknown action {action!r}.")
    changes = _changes_validated(changes or []) if action == Action.CORRECT else []
    changed_fields = {change["field"] for change in changes}
    services = [
        service
        for service in connected_services_active()
        if service.supports(action) and (action != Action.CORRECT or service.holds_any(changed_fields))
    ]
    existing = set(
        ServiceCall.objects.filter(request_id=request.pk, action=action).values_list("service_id", flat=True)
    )
    new = []
    for service in services:
        if service.pk in existing:
            continue
        call_id = uuid.uuid4()
        own_changes = [change for change in changes if change["field"] in (service.fields or [])]
        new.append(
            ServiceCall(
                request_id=request.pk,
                service=service,
                action=action,
                call_id=call_id,
                changes=own_changes,
                body=_call_body(request=request, action=action, call_id=call_id, changes=own_changes),
            )
        )
    if new:
        # A concurrent start of the same request and action wrote its own rows first: those are kept.
        ServiceCall.objects.bulk_create(new, ignore_conflicts=True)
    calls = list(
        ServiceCall.objects.filter(request_id=request.pk, action=action)
        .select_related("service")
        .order_by("service__name", "pk")
    )
    created = {call.call_id for call in new}
    for call in calls:
        if call.call_id in created:
            audit_event_record(
                actor=actor,
                action="service_call.start",
                target=call,
                details={"request_id": request.pk, "service": call.service.name, "action": action},
            )
    service_calls_schedule(call_ids=[call.pk for call in calls if call.call_id in created])
    return calls


def _changes_validated(changes: list[dict]) -> list[dict]:
    if not isinstance(changes, list):
        raise ValueError("changes must be a list.")
    cleaned = []
    for change in changes:
        if not isinstance(change, dict) or change.get("field") not in Field.values:
            raise ValueError(f"A change names no known field: {change!r}.")
        cleaned.append({key: change[key] for key in ("field", "value", "old") if key in change})
    return cleaned


def _call_body(*, request: Any, action: str, call_id: uuid.UUID, changes: list[dict]) -> str:
    """Return the JSON the service is posted: the call, the request and the person it is about."""
    phone = getattr(request, "phone", "") or ""
    return json.dumps(
        {
            "call": str(call_id),
            "action": action,
            "request": {
                "reference": request.reference,
                "type": request.request_type,
                "due_at": request.due_at,
            },
            "person": {
                "email": request.email,
                "full_name": request.full_name,
                "phone": getattr(phone, "as_e164", None) or str(phone),
                "account": request.requester_id,
                "language": request.language,
            },
            "changes": changes,
            "callback_url": settings.SITE_URL + reverse("connectors:callback", args=[call_id]),
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    )


def service_calls_schedule(*, call_ids: list[int]) -> None:
    """After commit, ask a worker to post each call; if the broker is down the sweep will."""
    if not call_ids:
        return
    ids = list(call_ids)

    def enqueue() -> None:
        from .tasks import service_call_dispatch

        try:
            for call_id in ids:
                service_call_dispatch.delay(call_id)
        except Exception:  # the broker is down: the calls stay queued and the beat sweep posts them
            logger.warning("Could not queue %d service calls; the sweep will retry.", len(ids))

    transaction.on_commit(enqueue)


# --- Posting a call -------------------------------------------------------------------------------


def service_call_backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed post: doubling from SERVICE_CALL_BACKOFF_SECONDS, capped."""
    seconds = settings.SERVICE_CALL_BACKOFF_SECONDS * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, settings.SERVICE_CALL_BACKOFF_MAX_SECONDS))


def _claim(call_pk: int) -> ServiceCall | None:
    """Mark the call as being posted, in one conditional update, if it is queued, due and not in hand: two
    workers never both post it, on PostgreSQL or SQLite."""
    now = timezone.now()
    claimed = (
        ServiceCall.objects.filter(pk=call_pk, state=ServiceCall.State.QUEUED, claimed_at__isnull=True)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .update(attempts=F("attempts") + 1, claimed_at=now, updated_at=now)
    )
    if not claimed:
        return None
    return ServiceCall.objects.select_related("service").get(pk=call_pk)


def service_call_attempt(*, call_pk: int) -> timedelta | None:
    """Post the call if it is due and nobody else is posting it; record the attempt and the answer.

    A final answer ("done" or "failed") ends the call and it is never posted again; "accepted" leaves it
    waiting for the service's callback. No answer, an error status or an answer that is not the contract's
    puts it back in the queue with a growing wait (a service down for the whole term is retried all along).
    Returns the wait before the next attempt, or None when there is none to make.
    """
    call = _claim(call_pk)
    if call is None:
        return None
    service = call.service
    body = call.body.encode("utf-8")
    started = timezone.now()
    clock = time.monotonic()
    answer = outbound_post(
        service.endpoint_url,
        body=body,
        timeout=service.timeout_seconds,
        read_limit=settings.SERVICE_CALL_MAX_ANSWER_BYTES,
        headers={
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: webhook_signature(
                secret=service.signing_secret, timestamp=int(time.time()), body=body
            ),
            "X-Alilo-Call": str(call.call_id),
            "X-Alilo-Action": call.action,
        },
    )
    duration_ms = int((time.monotonic() - clock) * 1000)
    error = answer.error
    parsed = None
    if answer.ok and not error:
        try:
            parsed = _answer_read(answer.body, allowed=("done", "failed", "accepted"))
        except ValueError as exc:
            error = f"HTTP {answer.status}: {exc}"
    now = timezone.now()
    with transaction.atomic():
        call = ServiceCall.objects.select_for_update().select_related("service").get(pk=call.pk)
        ServiceCallAttempt.objects.create(
            call=call,
            kind=ServiceCallAttempt.Kind.CALL,
            number=call.attempts,
            started_at=started,
            duration_ms=duration_ms,
            status_code=answer.status,
            error=error[:500],
            response_body=_text(answer.body)[:ATTEMPT_BODY_KEPT],
        )
        call.claimed_at = None
        if call.is_final:
            # Answered meanwhile, by callback or by hand: that answer stands.
            call.save(update_fields=["claimed_at", "updated_at"])
            return None
        if parsed is not None and parsed["status"] == "accepted":
            call.state = ServiceCall.State.WAITING
            call.accepted_at = now
            call.next_attempt_at = None
            call.last_error = ""
            call.save(
                update_fields=[
                    "state",
                    "accepted_at",
                    "next_attempt_at",
                    "last_error",
                    "claimed_at",
                    "updated_at",
                ]
            )
            return None
        if parsed is not None:
            _finish(call, state=parsed["status"], data=parsed["data"], message=parsed["message"])
            return None
        wait = service_call_backoff(call.attempts)
        call.next_attempt_at = now + wait
        call.last_error = error[:2000]
        call.save(update_fields=["next_attempt_at", "last_error", "claimed_at", "updated_at"])
    logger.warning("Service call %s attempt %s failed: %s", call.pk, call.attempts, error)
    return wait


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\x00", "\ufffd")


def _answer_read(data: bytes, *, allowed: tuple[str, ...], call_id: uuid.UUID | None = None) -> dict:
    """Return the answer's {"status", "data", "message"} or raise ValueError saying why it is not one.

    Strings are stored as they came, but for NUL and lone surrogates (which no database stores), shown as
    U+FFFD. Keys other than the contract's are refused, as are NaN and Infinity.
    """
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError("The answer is not JSON.") from exc
    if not isinstance(value, dict):
        raise ValueError("The answer is not a JSON object.")
    known = {"status", "data", "message", "call"}
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        raise ValueError(f"Unknown keys: {', '.join(unknown)[:200]}.")
    status = value.get("status")
    if status not in allowed:
        raise ValueError(f"status must be one of {', '.join(allowed)}.")
    if call_id is not None and value.get("call") != str(call_id):
        raise ValueError("call does not name this call.")
    if "call" in value and not isinstance(value["call"], str):
        raise ValueError("call must be a string.")
    data_value = value.get("data")
    if data_value is None:
        data_value = {}
    if not isinstance(data_value, dict):
        raise ValueError("data must be a JSON object.")
    message = value.get("message")
    if message is None:
        message = ""
    if not isinstance(message, str):
        raise ValueError("message must be a string.")
    return {"status": status, "data": _storable(data_value), "message": _storable(message)[:2000]}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number.")


def _storable(value: Any, depth: int = 0) -> Any:
    """Return `value` with NUL and lone surrogates shown as U+FFFD; refuse nesting deeper than JSON_DEPTH_MAX
    and numbers no database stores."""
    if depth > JSON_DEPTH_MAX:
        raise ValueError("The answer is nested too deeply.")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in value)
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("A number is too large.")
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_storable(str(key), depth + 1): _storable(item, depth + 1) for key, item in value.items()}
    return value


def _finish(call: ServiceCall, *, state: str, data: dict, message: str, actor: Any = None, ip=None) -> None:
    """Record the call's final answer and tell SERVICE_CALL_RECEIVERS (in a transaction holding the row)."""
    now = timezone.now()
    call.state = state
    call.result = data
    call.message = message
    call.answered_at = now
    call.next_attempt_at = None
    call.claimed_at = None
    call.last_error = ""
    call.save(
        update_fields=[
            "state",
            "result",
            "message",
            "answered_at",
            "next_attempt_at",
            "claimed_at",
            "last_error",
            "note",
            "marked_by",
            "updated_at",
        ]
    )
    audit_event_record(
        actor=actor,
        action=f"service_call.{state}",
        target=call,
        details={"request_id": call.request_id, "service": call.service.name, "action": call.action},
        personal={"note": call.note} if call.note else None,
        ip=ip,
    )
    for path in settings.SERVICE_CALL_RECEIVERS:
        import_string(path)(call=call)
    if call.erase_when_final:
        _erase_calls([call.pk], now=now)


# --- Callbacks ------------------------------------------------------------------------------------


class CallbackRefused(Exception):
    """A callback that changes nothing: its HTTP status and the reason told to the service."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def service_call_callback_receive(*, call_id: uuid.UUID, body: bytes, signature: str) -> dict:
    """Apply a service's signed callback to its call; return what to answer it (HTTP 200).

    The body must be signed with the service's secret within SERVICE_CALL_CALLBACK_TOLERANCE_SECONDS and be
    {"call": <this call>, "status": "done" | "failed", "data": {...}, "message": "..."}. A call that has its
    final answer keeps it: a later or repeated callback is answered 200 ("ignored") and changes nothing.
    Raises CallbackRefused (nothing changed) for an unknown call, a bad signature or a body not the
    contract's.
    """
    call = ServiceCall.objects.select_related("service").filter(call_id=call_id).first()
    if call is None:
        raise CallbackRefused(404, "Unknown call.")
    if not webhook_signature_valid(
        secret=call.service.signing_secret,
        header=signature,
        body=body,
        tolerance_seconds=settings.SERVICE_CALL_CALLBACK_TOLERANCE_SECONDS,
    ):
        raise CallbackRefused(401, "The signature does not match, or is too old.")
    try:
        parsed = _answer_read(body, allowed=("done", "failed"), call_id=call.call_id)
    except ValueError as exc:
        raise CallbackRefused(400, str(exc)) from exc
    with transaction.atomic():
        call = ServiceCall.objects.select_for_update().select_related("service").get(pk=call.pk)
        if call.is_final:
            return {"result": "ignored", "state": call.state}
        ServiceCallAttempt.objects.create(
            call=call,
            kind=ServiceCallAttempt.Kind.CALLBACK,
            number=call.attempts,
            started_at=timezone.now(),
            status_code=None,
            response_body=_text(body)[:ATTEMPT_BODY_KEPT],
        )
        _finish(call, state=parsed["status"], data=parsed["data"], message=parsed["message"])
    return {"result": "accepted", "state": call.state}


# --- Staff ----------------------------------------------------------------------------------------


def service_call_mark_done(*, call: ServiceCall, actor: Any, note: str, ip: str | None = None) -> ServiceCall:
    """Record that staff had the service's part done by other means (a note says how); audited.

    The call is not posted again and later callbacks are ignored. Raises ValidationError without a note or
    when the call has its final answer already.
    """
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say how the service's part was done.")})
    with transaction.atomic():
        call = ServiceCall.objects.select_for_update().select_related("service").get(pk=call.pk)
        if call.is_final:
            raise ValidationError(_("This call has its answer already."))
        call.note = note[:5000]
        call.marked_by = actor if getattr(actor, "pk", None) else None
        _finish(call, state=ServiceCall.State.DONE_BY_HAND, data={}, message="", actor=actor, ip=ip)
    return call


# --- Sweep ----------------------------------------------------------------------------------------


def service_calls_sweep(*, batch_size: int = 500) -> dict[str, int]:
    """Post again what no worker did: calls left mid-post by a dead worker, calls whose wait is over, and
    accepted calls whose callback did not come within SERVICE_CALL_CALLBACK_WAIT_MINUTES.

    A call left mid-post may or may not have reached its service; it is posted again (services treat a call
    id they have seen as the same call). Final calls are never touched.
    """
    now = timezone.now()
    stuck = ServiceCall.objects.filter(
        state=ServiceCall.State.QUEUED,
        claimed_at__lt=now - timedelta(minutes=settings.SERVICE_CALL_STUCK_MINUTES),
    ).update(
        claimed_at=None,
        next_attempt_at=now,
        last_error="The worker stopped while posting; the outcome is unknown.",
        updated_at=now,
    )
    silent = ServiceCall.objects.filter(
        state=ServiceCall.State.WAITING,
        accepted_at__lt=now - timedelta(minutes=settings.SERVICE_CALL_CALLBACK_WAIT_MINUTES),
    ).update(
        state=ServiceCall.State.QUEUED,
        next_attempt_at=now,
        last_error="The service accepted the call but did not call back in time; asked again.",
        updated_at=now,
    )
    # A grace period, so that the task queued after commit (or its own retry) goes first.
    grace = now - timedelta(seconds=30)
    due = list(
        ServiceCall.objects.filter(state=ServiceCall.State.QUEUED, claimed_at__isnull=True)
        .filter(
            models.Q(next_attempt_at__isnull=True, created_at__lt=grace)
            | models.Q(next_attempt_at__lte=grace)
            | models.Q(next_attempt_at=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[: batch_size * 20]
    )
    from .tasks import service_call_dispatch

    for call_pk in due:
        service_call_dispatch.delay(call_pk)
    return {"requeued": len(due), "stuck": stuck, "silent": silent}


# --- Retention --------------------------------------------------------------------------------------


def service_calls_cancel(*, request_id: int, actor: Any = None) -> int:
    """Stop the calls of a request closed (cancelled or refused) before the services answered: they are not
    posted again and a late callback is ignored. Return how many calls stopped."""
    with transaction.atomic():
        ids = list(
            ServiceCall.objects.select_for_update()
            .filter(request_id=request_id)
            .exclude(state__in=ServiceCall.FINAL_STATES)
            .values_list("pk", flat=True)
        )
        if ids:
            ServiceCall.objects.filter(pk__in=ids).update(
                state=ServiceCall.State.CANCELLED, next_attempt_at=None, updated_at=timezone.now()
            )
            audit_event_record(
                actor=actor,
                action="service_call.cancel",
                target_type=ServiceCall._meta.get_field("request").related_model._meta.label_lower,
                target_id=str(request_id),
                details={"calls": ids},
            )
    return len(ids)


def service_calls_personal_data_erase(*, request_ids: list[int]) -> int:
    """Erase the personal data the calls of these requests carry: what was posted, the changes, the answers
    and notes, and the bodies kept in their attempt logs. A call still owed an answer keeps what it posts
    until it is answered (a destroy call must still name the person), and is erased then. Returns how many
    calls changed; running it again changes none."""
    ids = list(
        ServiceCall.objects.filter(request_id__in=list(request_ids), personal_data_erased_at__isnull=True)
        .order_by()
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    now = timezone.now()
    final = list(
        ServiceCall.objects.filter(pk__in=ids, state__in=ServiceCall.FINAL_STATES).values_list(
            "pk", flat=True
        )
    )
    _erase_calls(final, now=now)
    pending = [pk for pk in ids if pk not in set(final)]
    ServiceCall.objects.filter(pk__in=pending).update(
        result={}, message="", erase_when_final=True, updated_at=now
    )
    ServiceCallAttempt.objects.filter(call_id__in=pending).update(response_body="")
    audit_personal_data_erase(targets={ServiceCall._meta.label_lower: ids})
    return len(ids)


def _erase_calls(ids: list[int], *, now) -> None:
    if not ids:
        return
    ServiceCall.objects.filter(pk__in=ids).update(
        body="",
        changes=[],
        result={},
        message="",
        note="",
        erase_when_final=False,
        personal_data_erased_at=now,
        updated_at=now,
    )
    ServiceCallAttempt.objects.filter(call_id__in=ids).update(response_body="")
    audit_personal_data_erase(targets={ServiceCall._meta.label_lower: ids})


# --- The registry -----------------------------------------------------------------------------------


def connected_service_create(
    *, actor: Any, secret: str = "", ip: str | None = None, **values: Any
) -> tuple[ConnectedService, str]:
    """Register a service (its URL checked by outbound_host_allowed); return (service, secret).

    Without `secret` one is made; either way it is returned this once, to be copied into the service's
    settings, and never shown again.
    """
    secret = (secret or "").strip() or ConnectedService.generate_secret()
    with transaction.atomic():
        service = ConnectedService(signing_secret=secret, **_service_values(values))
        service.full_clean()
        service.save()
        audit_event_record(
            actor=actor,
            action="connected_service.create",
            target=service,
            details={"url": service.endpoint_url, "actions": service.actions, "fields": service.fields},
            ip=ip,
        )
    return service, secret


def connected_service_update(
    *, service: ConnectedService, actor: Any, secret: str = "", ip: str | None = None, **values: Any
) -> ConnectedService:
    """Change a service; a non-empty `secret` replaces its signing secret. Calls still owed an answer are
    posted to the new URL with the new secret from their next attempt."""
    with transaction.atomic():
        service = ConnectedService.objects.select_for_update().get(pk=service.pk)
        values = _service_values(values)
        changed = sorted(name for name, value in values.items() if getattr(service, name) != value)
        for name, value in values.items():
            setattr(service, name, value)
        secret = (secret or "").strip()
        if secret:
            service.signing_secret = secret
        service.full_clean()
        service.save()
        audit_event_record(
            actor=actor,
            action="connected_service.update",
            target=service,
            details={"changed": changed, "secret_changed": bool(secret), "url": service.endpoint_url},
            ip=ip,
        )
    return service


def _service_values(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(SERVICE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    values = dict(values)
    if "endpoint_url" in values:
        values["endpoint_url"] = (values["endpoint_url"] or "").strip()
    for name in ("fields", "actions"):
        if name in values:
            values[name] = sorted(set(values[name] or []))
    return values
