"""Every change to a withdrawal request: a timeline entry and an audit row in the same transaction, and
emails through the outbox (delivered after commit)."""

import contextlib
import uuid
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from apps.accounts.services import user_agreement_end, user_consent_withdraw
from apps.audit.services import audit_event_build, audit_event_record, audit_events_record
from apps.notifications.models import OutboxEmail
from apps.notifications.services import (
    outbox_email_build,
    outbox_email_queue,
    outbox_emails_queue,
    outbox_emails_schedule,
    outbox_rows,
)
from config.db import Rows, rows_insert

from . import selectors, tokens, working_days
from .models import Purpose, ReferenceCounter, ThirdParty, TimelineEntry, WithdrawalRequest

Status = WithdrawalRequest.Status
LANGUAGE_NAMES = dict(settings.LANGUAGES)
Kind = TimelineEntry.Kind


class TransitionNotAllowed(Exception):
    """The request is not in a state that allows this step; the message says why, translated."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


class ConfirmationFailed(Exception):
    """A confirm link that cannot be used."""


class ConfirmationExpired(ConfirmationFailed):
    """The confirm link is older than WITHDRAWAL_CONFIRM_HOURS."""


# --- helpers ---------------------------------------------------------------------------------------


def _locked(withdrawal: WithdrawalRequest) -> WithdrawalRequest:
    return WithdrawalRequest.objects.select_for_update().get(pk=withdrawal.pk)


def _require(withdrawal: WithdrawalRequest, allowed: tuple, message: Any) -> None:
    if withdrawal.status not in allowed:
        raise TransitionNotAllowed(message)


def _refresh(target: WithdrawalRequest, source: WithdrawalRequest) -> WithdrawalRequest:
    """Copy the locked row's fields onto the caller's instance so it sees the change."""
    for field in WithdrawalRequest._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def _timeline(
    withdrawal: WithdrawalRequest, *, kind: str, visible: bool, text: str = "", actor: Any = None
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        request=withdrawal,
        kind=kind,
        visible_to_requester=visible,
        text=text,
        actor=_actor(actor),
    )


def _actor(actor: Any) -> Any:
    """Return the signed-in user who acted, or None for the system or a visitor."""
    return actor if getattr(actor, "is_authenticated", False) else None


def _audit(withdrawal: WithdrawalRequest, *, action: str, actor: Any = None, ip=None, **details) -> None:
    audit_events_record([_audit_event(withdrawal, action=action, actor=actor, ip=ip, **details)])


def _audit_event(withdrawal: WithdrawalRequest, *, action: str, actor: Any = None, ip=None, **details):
    return audit_event_build(
        actor=actor,
        action=f"withdrawal.{action}",
        target=withdrawal,
        details={"status": withdrawal.status, **details},
        ip=ip,
    )


def _reference_next(
    *, year: int, unless_submitted: uuid.UUID | None = None, reserve_id: bool = False
) -> tuple[str, int | None] | None:
    """Return the next reference of the year, WR-<year>-<6 digits>, and with `reserve_id` on PostgreSQL an
    id for the new request from its sequence (None elsewhere). Return None, taking no number, when a
    request with the submission token `unless_submitted` exists already.

    One statement creates the year's counter or moves it on; its row stays locked until the transaction
    ends, so two requests never get the same number. Outside a transaction the lock lasts that statement
    only: a number taken by a registration that then fails is skipped, never given twice.
    """
    qn = connection.ops.quote_name
    table = qn(ReferenceCounter._meta.db_table)
    token = WithdrawalRequest._meta.get_field("submission_token")
    params = [year, token.get_db_prep_value(unless_submitted, connection)]
    returning = "last"
    if reserve_id and connection.vendor == "postgresql":
        returning += ", nextval(pg_get_serial_sequence(%s, %s))"
        params += [WithdrawalRequest._meta.db_table, WithdrawalRequest._meta.pk.column]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, last) SELECT %s, 1 "  # noqa: S608 - the names are ours
            f"WHERE NOT EXISTS (SELECT 1 FROM {qn(WithdrawalRequest._meta.db_table)} "
            f"WHERE {qn(token.column)} = %s) "
            f"ON CONFLICT (year) DO UPDATE SET last = {table}.last + 1 RETURNING {returning}",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return f"WR-{year}-{row[0]:06d}", row[1] if len(row) > 1 else None


def _day(value: date, language: str) -> str:
    with translation.override(language):
        return date_format(value, "DATE_FORMAT")


def _moment(value: datetime | None) -> str:
    """Return `value` as local date and time in the active language."""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else ""


def _facts(withdrawal: WithdrawalRequest, language: str) -> dict[str, Any]:
    """Return the request's details as JSON-safe text in `language`, for an email."""
    last_day = selectors.withdrawal_last_day(withdrawal)
    with translation.override(language):
        return {
            "reference": withdrawal.reference or "",
            "full_name": withdrawal.full_name,
            "email": withdrawal.email,
            "phone": str(withdrawal.phone or ""),
            "scope": withdrawal.scope,
            "scope_label": str(WithdrawalRequest.Scope(withdrawal.scope).label),
            "purposes": withdrawal.purpose_labels(),
            "reason": withdrawal.reason,
            "acknowledgement": withdrawal.acknowledgement,
            "request_language": str(LANGUAGE_NAMES.get(withdrawal.language, withdrawal.language)),
            "status_label": str(Status(withdrawal.status).label),
            "submitted_at": _moment(withdrawal.created_at),
            "verified_at": _moment(withdrawal.verified_at),
            "due_date": date_format(last_day, "DATE_FORMAT") if last_day else "",
            "due_working_days": settings.WITHDRAWAL_DUE_WORKING_DAYS,
            "account_email": withdrawal.requester.email if withdrawal.requester_id else "",
            "account_id": withdrawal.requester_id or "",
            "ip": withdrawal.ip or "",
            "user_agent": withdrawal.user_agent,
        }


def _email_requester(withdrawal: WithdrawalRequest, *, template: str, key: str, **extra) -> None:
    outbox_emails_queue(emails=[_email_to_requester(withdrawal, template=template, key=key, **extra)])


def _email_to_requester(
    withdrawal: WithdrawalRequest, *, template: str, key: str, facts: dict | None = None, **extra
) -> OutboxEmail:
    language = withdrawal.language
    return outbox_email_build(
        to=withdrawal.email,
        template=template,
        language=language,
        context={
            **(facts or _facts(withdrawal, language)),
            "status_path": selectors.withdrawal_status_path(withdrawal),
            **extra,
        },
        dedup_key=f"{selectors.withdrawal_email_key_prefix(withdrawal)}{key}",
        user=withdrawal.requester,
    )


def _email_staff(withdrawal: WithdrawalRequest, *, event: str, key: str, text: str = "") -> None:
    """Tell the assignee (or the privacy mailbox) that the requester did something."""
    assignee = withdrawal.assignee
    to = assignee.email if assignee else settings.PRIVACY_MAILBOX
    language = assignee.language if assignee else settings.PRIVACY_MAILBOX_LANGUAGE
    outbox_email_queue(
        to=to,
        template="withdrawal_staff_update",
        language=language,
        context={
            **_facts(withdrawal, language),
            "event": event,
            "text": text,
            "admin_path": selectors.withdrawal_admin_path(withdrawal),
        },
        dedup_key=f"{selectors.withdrawal_email_key_prefix(withdrawal)}{key}",
        reply_to=withdrawal.email,
        user=assignee,
    )


def _clean_text(value: str) -> str:
    return "\n".join(line.rstrip() for line in (value or "").strip().splitlines())


# --- the requester ---------------------------------------------------------------------------------


def _scope_check(withdrawal: WithdrawalRequest) -> None:
    if withdrawal.scope == WithdrawalRequest.Scope.ALL:
        consistent = withdrawal.acknowledgement and not withdrawal.purposes
    else:
        consistent = withdrawal.scope == WithdrawalRequest.Scope.PARTIAL and bool(withdrawal.purposes)
    if not consistent:
        raise ValidationError(
            _("A full withdrawal needs the acknowledgement; a partial one needs purposes."), code="scope"
        )


def withdrawal_request_submit(
    *,
    submission_token: uuid.UUID,
    requester: Any,
    full_name: str,
    email: str,
    phone: Any,
    scope: str,
    purposes: list[str],
    reason: str,
    acknowledgement: bool,
    language: str,
    ip: str | None,
    user_agent: str,
) -> tuple[WithdrawalRequest, bool]:
    """Store a request from the form; return (request, created).

    A signed-in requester is verified at once; a visitor gets a confirm-your-email link. The same
    submission token twice returns the first request and changes nothing.
    """
    if not getattr(requester, "is_authenticated", False):
        requester = None
    if scope == WithdrawalRequest.Scope.ALL:
        purposes = []
    else:
        chosen = set(purposes)
        purposes = [value for value in Purpose.values if value in chosen]
    withdrawal = WithdrawalRequest(
        submission_token=submission_token,
        requester=requester,
        full_name=" ".join(full_name.split()),
        email=(requester.email if requester else email).strip().lower(),
        phone=phone or "",
        scope=scope,
        purposes=purposes,
        reason=_clean_text(reason),
        acknowledgement=bool(acknowledgement),
        language=language,
        ip=ip or None,
        user_agent=(user_agent or "")[:300],
    )
    # The form checked the input; the database checks the constraints again on insert. Only the rule that
    # depends on the input is checked here, so a caller without the form gets a readable error.
    withdrawal.full_clean(exclude=["requester"], validate_unique=False, validate_constraints=False)
    _scope_check(withdrawal)
    # Signed in: the account proves the address, so the request is registered as it is stored. Its number
    # is taken before the transaction, so that concurrent submissions do not wait for each other on the
    # year's counter; a form sent twice takes no second number.
    if requester is not None and not _registration_stamp(
        withdrawal, unless_submitted=submission_token, reserve_id=True
    ):
        existing = WithdrawalRequest.objects.filter(submission_token=submission_token).first()
        if existing is not None:
            return existing, False
        _registration_stamp(withdrawal, reserve_id=True)
    # With its id taken (PostgreSQL), the request and every row of its registration are written by one
    # statement, atomic by itself (a savepoint only inside a caller's transaction); otherwise the request
    # is saved first, in a transaction with the rest.
    together = withdrawal.pk is not None
    alone = together and not connection.in_atomic_block
    try:
        with contextlib.nullcontext() if alone else transaction.atomic():
            if not together:
                withdrawal.save()
            kinds = [Kind.SUBMITTED] if requester is None else [Kind.SUBMITTED, Kind.VERIFIED]
            timeline = [
                TimelineEntry(request=withdrawal, kind=kind, visible_to_requester=True, actor=requester)
                for kind in kinds
            ]
            events = [
                _audit_event(
                    withdrawal,
                    action="submit",
                    actor=requester,
                    ip=ip,
                    scope=scope,
                    purposes=purposes,
                    status=Status.UNVERIFIED,
                )
            ]
            if requester is not None:
                due_at = withdrawal.due_at.isoformat()
                verify = _audit_event(withdrawal, action="verify", actor=requester, ip=ip, due_at=due_at)
                events.append(verify)
                emails = _registration_emails(withdrawal)
            else:
                emails = [
                    outbox_email_build(
                        to=withdrawal.email,
                        template="withdrawal_confirm",
                        language=withdrawal.language,
                        context={
                            "full_name": withdrawal.full_name,
                            "confirm_path": selectors.withdrawal_confirm_path(withdrawal),
                            "hours": settings.WITHDRAWAL_CONFIRM_HOURS,
                        },
                        dedup_key=f"{selectors.withdrawal_email_key_prefix(withdrawal)}confirm",
                    )
                ]
            requests = [Rows([withdrawal])] if together else []
            rows_insert(*requests, Rows(timeline), Rows(events), outbox_rows(emails))
            outbox_emails_schedule(emails=emails)
    except IntegrityError:
        # The same form arrived twice at once (a double click): the first copy stands, and the unique
        # submission token refuses the second.
        existing = WithdrawalRequest.objects.filter(submission_token=submission_token).first()
        if existing is None:
            raise
        return existing, False
    return withdrawal, True


def withdrawal_request_confirm(*, token: str, ip: str | None = None) -> WithdrawalRequest:
    """Verify a visitor's request from the signed link in the email; confirming twice is harmless."""
    try:
        public_id = tokens.confirm_token_read(token)
    except tokens.LinkExpired as exc:
        raise ConfirmationExpired from exc
    except tokens.LinkInvalid as exc:
        raise ConfirmationFailed from exc
    withdrawal = selectors.withdrawal_request_by_public_id(public_id)
    if withdrawal is None:
        raise ConfirmationFailed
    with transaction.atomic():
        return _verify(withdrawal, ip=ip)


def _registration_stamp(
    withdrawal: WithdrawalRequest, *, unless_submitted: uuid.UUID | None = None, reserve_id: bool = False
) -> bool:
    """Give the request its reference and due date: it is registered from now.

    With `unless_submitted`, return False and change nothing when a request with that submission token
    exists already. With `reserve_id`, a new request gets its id now where the database can hand one out.
    """
    now = timezone.now()
    year = working_days.local_date(now).year
    taken = _reference_next(year=year, unless_submitted=unless_submitted, reserve_id=reserve_id)
    if taken is None:
        return False
    withdrawal.reference, reserved_id = taken
    if reserved_id is not None:
        withdrawal.pk = reserved_id
        withdrawal.created_at = now
    withdrawal.verified_at = now
    withdrawal.due_at = working_days.due_at_after(now, settings.WITHDRAWAL_DUE_WORKING_DAYS)
    withdrawal.status = Status.SUBMITTED
    return True


def _registration_emails(withdrawal: WithdrawalRequest) -> list[OutboxEmail]:
    """Return the written application to the privacy mailbox and the receipt to the requester (unsaved)."""
    mailbox_language = settings.PRIVACY_MAILBOX_LANGUAGE
    facts = _facts(withdrawal, mailbox_language)
    application = outbox_email_build(
        to=settings.PRIVACY_MAILBOX,
        template="withdrawal_application",
        language=mailbox_language,
        context={**facts, "admin_path": selectors.withdrawal_admin_path(withdrawal)},
        dedup_key=f"{selectors.withdrawal_email_key_prefix(withdrawal)}application",
        reply_to=withdrawal.email,
    )
    if withdrawal.language != mailbox_language:
        facts = None
    receipt = _email_to_requester(withdrawal, template="withdrawal_received", key="received", facts=facts)
    return [application, receipt]


def _verify(withdrawal: WithdrawalRequest, *, actor: Any = None, ip=None) -> WithdrawalRequest:
    """Register a visitor's request once the address is confirmed: reference, due date and the emails."""
    locked = _locked(withdrawal)
    if locked.status != Status.UNVERIFIED:
        return _refresh(withdrawal, locked)
    _registration_stamp(locked)
    if locked.requester_id is None:
        # The visitor proved they hold this address; the account with it is theirs.
        locked.requester = get_user_model().objects.filter(email__iexact=locked.email).first()
    locked.save()
    timeline = TimelineEntry(
        request=locked, kind=Kind.VERIFIED, visible_to_requester=True, actor=_actor(actor)
    )
    event = _audit_event(locked, action="verify", actor=actor, ip=ip, due_at=locked.due_at.isoformat())
    emails = _registration_emails(locked)
    rows_insert(Rows([timeline]), Rows([event]), outbox_rows(emails))
    outbox_emails_schedule(emails=emails)
    return _refresh(withdrawal, locked)


def withdrawal_request_information_provide(
    *, withdrawal: WithdrawalRequest, answer: str, ip: str | None = None, actor: Any = None
) -> WithdrawalRequest:
    """Take the requester's answer; restart the clock and move the due date by the working days paused."""
    answer = _clean_text(answer)
    if not answer:
        raise ValidationError(_("Write your answer."), code="required")
    with transaction.atomic():
        locked = _locked(withdrawal)
        _require(
            locked,
            (Status.AWAITING_INFORMATION,),
            _("Nobody asked for more information on this request, or it has been answered already."),
        )
        now = timezone.now()
        paused = working_days.working_days_between(locked.pause_started_at, now)
        locked.due_at = working_days.due_at_extended(locked.due_at, paused)
        locked.paused_working_days += paused
        locked.pause_started_at = None
        locked.status = Status.IN_REVIEW
        locked.save()
        entry = _timeline(locked, kind=Kind.INFORMATION_PROVIDED, visible=True, text=answer, actor=actor)
        _audit(locked, action="information_provide", actor=actor, ip=ip, paused_working_days=paused)
        _email_staff(locked, event="answered", key=f"answered:{entry.pk}", text=answer)
    return _refresh(withdrawal, locked)


def withdrawal_request_cancel(
    *, withdrawal: WithdrawalRequest, ip: str | None = None, actor: Any = None
) -> WithdrawalRequest:
    """Withdraw the application before it is decided."""
    with transaction.atomic():
        locked = _locked(withdrawal)
        _require(
            locked, WithdrawalRequest.OPEN_STATUSES, _("Only a request not yet decided can be cancelled.")
        )
        locked.status = Status.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.pause_started_at = None
        locked.save()
        _timeline(locked, kind=Kind.CANCELLED, visible=True, actor=actor)
        _audit(locked, action="cancel", actor=actor, ip=ip)
        _email_staff(locked, event="cancelled", key="cancelled")
    return _refresh(withdrawal, locked)


# --- staff -----------------------------------------------------------------------------------------


def withdrawal_request_assign(
    *, withdrawal: WithdrawalRequest, assignee: Any, actor: Any, ip: str | None = None
) -> bool:
    """Give the request to a staff member; return False when they had it already."""
    if not (assignee.is_staff and assignee.is_active):
        raise TransitionNotAllowed(_("Requests can only be assigned to active staff members."))
    with transaction.atomic():
        locked = _locked(withdrawal)
        _require(locked, WithdrawalRequest.OPEN_STATUSES, _("Only an open request can be assigned."))
        if locked.assignee_id == assignee.pk:
            return False
        previous = locked.assignee_id
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        _timeline(locked, kind=Kind.ASSIGNED, visible=False, text=assignee.email, actor=actor)
        _audit(locked, action="assign", actor=actor, ip=ip, assignee=assignee.pk, previous=previous)
    _refresh(withdrawal, locked)
    return True


def withdrawal_request_review_start(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None
) -> WithdrawalRequest:
    """Start reviewing a submitted request; whoever starts it gets it if nobody has it."""
    with transaction.atomic():
        locked = _locked(withdrawal)
        _require(locked, (Status.SUBMITTED,), _("Only a submitted request can be taken into review."))
        locked.status = Status.IN_REVIEW
        if locked.assignee_id is None and actor.is_staff:
            locked.assignee = actor
            _timeline(locked, kind=Kind.ASSIGNED, visible=False, text=actor.email, actor=actor)
        locked.save()
        _timeline(locked, kind=Kind.REVIEW_STARTED, visible=True, actor=actor)
        _audit(locked, action="review_start", actor=actor, ip=ip)
    return _refresh(withdrawal, locked)


def withdrawal_request_information_ask(
    *, withdrawal: WithdrawalRequest, actor: Any, message: str, ip: str | None = None
) -> WithdrawalRequest:
    """Ask the requester for more information; the clock stops until they answer."""
    message = _clean_text(message)
    if not message:
        raise TransitionNotAllowed(_("Write what you need to know from the requester."))
    with transaction.atomic():
        locked = _locked(withdrawal)
        _require(
            locked,
            (Status.IN_REVIEW,),
            _("Information can be asked for only while the request is in review."),
        )
        locked.status = Status.AWAITING_INFORMATION
        locked.pause_started_at = timezone.now()
        locked.save()
        entry = _timeline(locked, kind=Kind.INFORMATION_REQUESTED, visible=True, text=message, actor=actor)
        _audit(locked, action="information_request", actor=actor, ip=ip)
        _email_requester(
            locked,
            template="withdrawal_information_requested",
            key=f"information:{entry.pk}",
            message=message,
        )
    return _refresh(withdrawal, locked)


DECIDABLE = (Status.IN_REVIEW, Status.AWAITING_INFORMATION)


def withdrawal_request_grant(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None
) -> WithdrawalRequest:
    """Grant the withdrawal and apply it: consent and agreement for a full one, third parties told."""
    with transaction.atomic():
        locked = _locked(withdrawal)
        _require(locked, DECIDABLE, _("Only a request in review can be granted."))
        now = timezone.now()
        locked.status = Status.GRANTED
        locked.decided_at = now
        locked.pause_started_at = None
        locked.save()
        user = locked.requester or get_user_model().objects.filter(email__iexact=locked.email).first()
        effects: dict[str, Any] = {"user": user.pk if user else None}
        if user is not None and locked.scope == WithdrawalRequest.Scope.ALL:
            details = {"withdrawal": locked.reference}
            effects["consent_withdrawn"] = user_consent_withdraw(
                user=user, at=now, actor=actor, details=details
            )
            effects["agreement_ended"] = user_agreement_end(user=user, at=now, actor=actor, details=details)
        parties = list(ThirdParty.objects.filter(active=True).order_by("name"))
        for party in parties:
            outbox_email_queue(
                to=party.contact_email,
                template="withdrawal_third_party",
                language=party.language,
                context={**_facts(locked, party.language), "party_name": party.name},
                dedup_key=f"{selectors.withdrawal_email_key_prefix(locked)}third-party:{party.pk}",
                reply_to=settings.PRIVACY_MAILBOX,
            )
        if parties:
            _timeline(
                locked,
                kind=Kind.THIRD_PARTIES_NOTIFIED,
                visible=False,
                text=", ".join(party.name for party in parties),
                actor=actor,
            )
        effects["third_parties"] = [party.pk for party in parties]
        _timeline(locked, kind=Kind.GRANTED, visible=True, actor=actor)
        _audit(locked, action="grant", actor=actor, ip=ip, scope=locked.scope, **effects)
        _email_requester(locked, template="withdrawal_granted", key="decision")
    return _refresh(withdrawal, locked)


def withdrawal_request_refuse(
    *, withdrawal: WithdrawalRequest, actor: Any, reason: str, ip: str | None = None
) -> WithdrawalRequest:
    """Refuse with a written reason the requester sees (Law on Personal Data, Art. 8(2))."""
    reason = _clean_text(reason)
    if not reason:
        raise TransitionNotAllowed(_("A refusal needs a written reason."))
    with transaction.atomic():
        locked = _locked(withdrawal)
        _require(locked, DECIDABLE, _("Only a request in review can be refused."))
        locked.status = Status.REFUSED
        locked.decided_at = timezone.now()
        locked.decision_reason = reason
        locked.pause_started_at = None
        locked.save()
        _timeline(locked, kind=Kind.REFUSED, visible=True, text=reason, actor=actor)
        _audit(locked, action="refuse", actor=actor, ip=ip)
        _email_requester(locked, template="withdrawal_refused", key="decision", decision_reason=reason)
    return _refresh(withdrawal, locked)


def withdrawal_request_note_add(
    *, withdrawal: WithdrawalRequest, actor: Any, text: str, ip: str | None = None
) -> TimelineEntry:
    """Add an internal note; the requester never sees it."""
    text = _clean_text(text)
    if not text:
        raise TransitionNotAllowed(_("Write the note."))
    if withdrawal.status == Status.UNVERIFIED:
        raise TransitionNotAllowed(_("The requester has not confirmed this request yet."))
    with transaction.atomic():
        entry = _timeline(withdrawal, kind=Kind.NOTE, visible=False, text=text, actor=actor)
        _audit(withdrawal, action="note", actor=actor, ip=ip, entry=entry.pk)
    return entry


def withdrawal_request_view_record(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None, view: str = "full"
) -> None:
    """Record that a staff member opened the request (policy clause 3.4), in full or as its status."""
    _audit(withdrawal, action="view", actor=actor, ip=ip, view=view)


ERASED_EMAIL = "erased@erased.invalid"
REQUESTER_TEXT_KINDS = (Kind.SUBMITTED, Kind.INFORMATION_PROVIDED, Kind.CANCELLED)


def withdrawal_personal_data_erase(*, user_ids: list[int], emails: list[str]) -> int:
    """Anonymise the requests of these users, found by account and by address (retention erasure).

    Name, address, phone, reason, IP, browser and the requester's own words in the timeline go; the
    status, dates, scope, purposes and reference stay. Return how many requests were anonymised.
    """
    requests = WithdrawalRequest.objects.filter(
        Q(requester_id__in=user_ids) | Q(email__in=[email.lower() for email in emails])
    )
    rows = list(requests.values_list("pk", "email"))
    if not rows:
        return 0
    ids = [pk for pk, _email in rows]
    addresses = {email for _pk, email in rows} - {ERASED_EMAIL}
    # The emails about these requests (to the requester, and to the mailbox with the request's details).
    OutboxEmail.objects.filter(to__in=addresses).update(
        to=ERASED_EMAIL, reply_to="", context={}, updated_at=timezone.now()
    )
    OutboxEmail.objects.filter(
        dedup_key__regex=r"^withdrawal:({}):".format("|".join(str(pk) for pk in ids))
    ).update(reply_to="", context={}, updated_at=timezone.now())
    TimelineEntry.objects.filter(request_id__in=ids, kind__in=REQUESTER_TEXT_KINDS).exclude(text="").update(
        text=""
    )
    return WithdrawalRequest.objects.filter(pk__in=ids).update(
        full_name="",
        email=ERASED_EMAIL,
        phone="",
        reason="",
        ip=None,
        user_agent="",
        updated_at=timezone.now(),
    )


# --- sweeps ----------------------------------------------------------------------------------------


def withdrawal_unverified_purge(*, now: datetime | None = None) -> int:
    """Delete requests whose email was never confirmed within WITHDRAWAL_UNVERIFIED_DELETE_DAYS."""
    cutoff = selectors.unverified_purge_cutoff(now=now)
    with transaction.atomic():
        stale = WithdrawalRequest.objects.filter(status=Status.UNVERIFIED, created_at__lt=cutoff)
        ids = list(stale.values_list("pk", flat=True))
        if not ids:
            return 0
        WithdrawalRequest.objects.filter(pk__in=ids).delete()
        audit_event_record(
            action="withdrawal.purge_unverified",
            target_type=WithdrawalRequest._meta.label_lower,
            details={"count": len(ids)},
        )
    return len(ids)


def withdrawal_due_digest_send(*, now: datetime | None = None) -> OutboxEmail | None:
    """Email the privacy mailbox the overdue and nearly due requests; nothing when there are none."""
    now = now or timezone.now()
    overdue = list(selectors.withdrawal_requests_overdue(now=now).select_related("assignee"))
    due_soon = list(selectors.withdrawal_requests_due_soon(now=now).select_related("assignee"))
    if not overdue and not due_soon:
        return None
    language = settings.PRIVACY_MAILBOX_LANGUAGE

    def row(withdrawal: WithdrawalRequest) -> dict[str, Any]:
        with translation.override(language):
            status_label = str(withdrawal.get_status_display())
        state = selectors.withdrawal_due_state(withdrawal, now=now)
        return {
            "reference": withdrawal.reference,
            "full_name": withdrawal.full_name,
            "email": withdrawal.email,
            "status_label": status_label,
            "due_date": _day(selectors.withdrawal_last_day(withdrawal), language),
            "days_left": state.days_left,
            "assignee": withdrawal.assignee.email if withdrawal.assignee else "",
            "admin_path": selectors.withdrawal_admin_path(withdrawal),
        }

    today = working_days.local_date(now)
    return outbox_email_queue(
        to=settings.PRIVACY_MAILBOX,
        template="withdrawal_due_digest",
        language=language,
        context={
            "date": _day(today, language),
            "overdue": [row(item) for item in overdue],
            "due_soon": [row(item) for item in due_soon],
            "due_soon_days": settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS,
        },
        dedup_key=f"withdrawal-digest:{today.isoformat()}",
    )
