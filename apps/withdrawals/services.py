"""Every change to a withdrawal request: a timeline entry and an audit row in the same transaction, and
emails through the outbox (delivered after commit)."""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.roles import SUPPORT
from apps.accounts.services import (
    CORRECTABLE_FIELDS,
    user_agreement_end,
    user_automated_processing_object,
    user_block,
    user_consent_withdraw,
    user_data_erase,
    user_details_correct,
    user_purposes_withdraw,
    user_unblock,
)
from apps.audit.services import (
    audit_event_build,
    audit_event_record,
    audit_events_record,
    audit_personal_data_erase,
)
from apps.calendars import working_days
from apps.connectors.models import Action, ServiceCall
from apps.connectors.selectors import (
    service_calls_all_final,
    service_calls_of_request,
    service_calls_unanswered,
)
from apps.connectors.services import (
    service_calls_cancel,
    service_calls_personal_data_erase,
    service_calls_start,
)
from apps.core.dates import COMPANY_TZ
from apps.notifications.models import OutboxEmail
from apps.notifications.services import (
    outbox_email_held_add,
    outbox_email_hold,
    outbox_email_queue,
    outbox_email_release,
    outbox_emails_queue,
    outbox_personal_data_erase,
    outbox_topic_personal_data_erase,
)

from . import emails, selectors, tokens
from .access_package import access_package_document, access_package_html
from .corrections import CORRECTION_FIELDS, correction_field_label, correction_items
from .details import request_details_clean
from .emails import TOPIC
from .models import (
    REFERENCE_PREFIXES,
    AccessPackage,
    AccessPackageLink,
    ApplicationScan,
    Purpose,
    ReferenceCounter,
    RequestType,
    SupportAccess,
    ThirdParty,
    ThirdPartyNotice,
    TimelineEntry,
    WithdrawalRequest,
)
from .workflow import Step, TransitionNotAllowed, withdrawal_step_check

__all__ = ["TransitionNotAllowed"]

Status = WithdrawalRequest.Status
Kind = TimelineEntry.Kind


class ConfirmationFailed(Exception):
    """A confirm link that cannot be used."""


class ConfirmationExpired(ConfirmationFailed):
    """The confirm link is older than WITHDRAWAL_CONFIRM_HOURS."""


# --- helpers ---------------------------------------------------------------------------------------


def _locked(withdrawal: WithdrawalRequest, step: str) -> WithdrawalRequest:
    """Return the request's row locked for this transaction, once its status allows `step`."""
    locked = WithdrawalRequest.objects.select_for_update().get(pk=withdrawal.pk)
    withdrawal_step_check(locked, step)
    return locked


def _refresh(target: WithdrawalRequest, source: WithdrawalRequest) -> WithdrawalRequest:
    """Copy the locked row's fields onto the caller's instance so it sees the change."""
    for field in WithdrawalRequest._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def _actor(actor: Any) -> Any:
    """Return the signed-in user who acted, or None for the system or a visitor."""
    return actor if getattr(actor, "is_authenticated", False) else None


def _timeline(
    withdrawal: WithdrawalRequest, *, kind: str, visible: bool, text: str = "", actor: Any = None
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        request=withdrawal, kind=kind, visible_to_requester=visible, text=text, actor=_actor(actor)
    )


def _audit(withdrawal: WithdrawalRequest, *, action: str, actor: Any = None, ip=None, **details) -> None:
    audit_event_record(
        actor=actor,
        action=f"withdrawal.{action}",
        target=withdrawal,
        details={"status": withdrawal.status, **details},
        ip=ip,
    )


def _clean_text(value: str) -> str:
    return "\n".join(line.rstrip() for line in (value or "").strip().splitlines())


def _reference_take(*, request_type: str, year: int) -> str:
    """Return the next reference of the type's series in the year, e.g. WR-<year>-<6 digits> for a
    withdrawal, AR-<year>-<6 digits> for an access request.

    The counter row stays locked until the caller's transaction ends, so two requests never get the same
    number; a registration that fails gives its number back.
    """
    series = REFERENCE_PREFIXES[request_type]
    counter = ReferenceCounter.objects.filter(series=series, year=year)
    ReferenceCounter.objects.get_or_create(series=series, year=year)
    counter.update(last=F("last") + 1)
    last = counter.values_list("last", flat=True).get()
    return f"{series}-{year}-{last:06d}"


def _reference_for(withdrawal: WithdrawalRequest) -> str:
    return _reference_take(
        request_type=withdrawal.request_type, year=working_days.local_date(timezone.now()).year
    )


def _register(withdrawal: WithdrawalRequest) -> None:
    """Give the request its reference and due date: it is registered from now. Call it in a transaction.

    The statutory term counts from the day the application reached us (`received_at`: the web form's
    submission, or the date staff entered for a letter, an email or a visit), not from the day it was
    confirmed, and nothing moves it afterwards (Law on Personal Data, Art. 8(7)).
    """
    now = timezone.now()
    if not withdrawal.reference:
        withdrawal.reference = _reference_for(withdrawal)
    withdrawal.verified_at = now
    withdrawal.due_at = working_days.due_at_after(
        withdrawal.received_at, selectors.term_working_days(withdrawal.request_type)
    )
    withdrawal.status = Status.SUBMITTED


# --- the requester ---------------------------------------------------------------------------------


def _scope_check(withdrawal: WithdrawalRequest) -> None:
    if withdrawal.request_type != RequestType.WITHDRAWAL:
        return  # the type's own rules (request_details_clean) refused any scope or purposes
    if withdrawal.scope == WithdrawalRequest.Scope.ALL:
        consistent = withdrawal.acknowledgement and not withdrawal.purposes
    else:
        consistent = withdrawal.scope == WithdrawalRequest.Scope.PARTIAL and bool(withdrawal.purposes)
    if not consistent:
        raise ValidationError(
            _("A full withdrawal needs the acknowledgement; a partial one needs purposes."), code="scope"
        )


def _request_answers(
    *,
    request_type: str,
    scope: str,
    purposes: Any,
    reason: Any,
    acknowledgement: Any,
    details: Any,
) -> dict[str, Any]:
    """Return the type's answers as they are stored (scope, purposes, reason, acknowledgement, details);
    raise ValidationError, naming the path of each problem, when they break the type's rules."""
    if request_type not in RequestType.values:
        raise ValidationError(
            {"request_type": [ValidationError(_("Choose what you want to do."), code="request_type")]}
        )
    if request_type == RequestType.WITHDRAWAL:
        if scope == WithdrawalRequest.Scope.ALL:
            purposes = []
        else:
            chosen = set(purposes or [])
            purposes = [value for value in Purpose.values if value in chosen]
    else:
        purposes = list(purposes or [])
    cleaned, reason = request_details_clean(
        request_type=request_type,
        details=details,
        reason=reason,
        acknowledgement=acknowledgement,
        scope=scope if request_type != RequestType.WITHDRAWAL else "",
        purposes=purposes if request_type != RequestType.WITHDRAWAL else [],
    )
    return {
        "scope": scope or "",
        "purposes": purposes,
        "reason": reason,
        # Only a withdrawal and a destruction ask for it: both may end the user agreement.
        "acknowledgement": bool(acknowledgement)
        if request_type in (RequestType.WITHDRAWAL, RequestType.DESTRUCTION)
        else False,
        "details": cleaned,
    }


def _submitted(submission_token: uuid.UUID) -> WithdrawalRequest | None:
    """Return the request stored from this form already, if any."""
    return WithdrawalRequest.objects.filter(submission_token=submission_token).first()


def _same_filer(existing: WithdrawalRequest, filed_by: Any) -> WithdrawalRequest:
    """Return `existing`, stored from the same submission token, if the same filer sent it; a service
    that quotes another filer's token learns nothing of that request."""
    if existing.filed_by_service_id != (filed_by.pk if filed_by is not None else None):
        raise ValidationError(
            {
                "submission_token": [
                    ValidationError(
                        _("This submission token was used for another request; send a new one."),
                        code="submission_token",
                    )
                ]
            }
        )
    return existing


def _same_request_pending(withdrawal: WithdrawalRequest) -> WithdrawalRequest | None:
    """Return a request not yet decided, filed lately from the same address with the same words: the same
    form sent again after Back (a new form, a new token), or sent again because no email came."""
    since = timezone.now() - timedelta(hours=settings.WITHDRAWAL_CONFIRM_HOURS)
    return (
        WithdrawalRequest.objects.filter(
            channel=withdrawal.channel,
            filed_by_service=withdrawal.filed_by_service,
            request_type=withdrawal.request_type,
            email=withdrawal.email,
            requester=withdrawal.requester,
            full_name=withdrawal.full_name,
            scope=withdrawal.scope,
            purposes=withdrawal.purposes,
            reason=withdrawal.reason,
            details=withdrawal.details,
            status__in=(Status.UNVERIFIED, *WithdrawalRequest.OPEN_STATUSES),
            created_at__gte=since,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def withdrawal_request_submit(
    *,
    submission_token: uuid.UUID,
    requester: Any,
    full_name: str,
    email: str,
    phone: Any,
    language: str,
    ip: str | None,
    user_agent: str,
    request_type: str = RequestType.WITHDRAWAL,
    scope: str = "",
    purposes: list[str] = (),
    reason: str = "",
    acknowledgement: bool = False,
    details: dict | None = None,
    filed_by: Any = None,
) -> tuple[WithdrawalRequest, bool]:
    """Store a request of any type from a form, or from a connected service; return (request, created).

    `details` holds the type's own answers (apps.withdrawals.details); anything that breaks the type's rules
    raises ValidationError and stores nothing. A request filed from an account whose address is confirmed
    is registered at once, with that address. Any other request waits for the confirm-your-email link, as a
    visitor's does: nothing goes to the privacy mailbox, and no receipt to the address, until its holder
    proves it. An account that has not confirmed its address still gets its reference at once, so it can
    quote it.

    `filed_by` is the service token of a connected service filing on the person's behalf (channel "api"):
    such a request always waits for the person's confirmation from the emailed link, even when it names an
    account (`requester`) whose address is confirmed, since a service's word proves neither that the person
    asked nor that they hold the address; it gets its reference at once, for the service to follow it.

    The same submission token twice (a double click, a form sent again) returns the first request and
    changes nothing; the same words from the same address while the first is pending return it too.
    """
    if not getattr(requester, "is_authenticated", False):
        requester = None
    via_api = filed_by is not None
    answers = _request_answers(
        request_type=request_type,
        scope=scope,
        purposes=purposes,
        reason=reason,
        acknowledgement=acknowledgement,
        details=details,
    )
    registered_now = not via_api and requester is not None and requester.email_verified_at is not None
    withdrawal = WithdrawalRequest(
        submission_token=submission_token,
        request_type=request_type,
        channel=WithdrawalRequest.Channel.API if via_api else WithdrawalRequest.Channel.WEB,
        filed_by_service=filed_by,
        requester=requester,
        requester_email_verified=registered_now,
        full_name=" ".join(full_name.split()),
        email=(requester.email if requester else email).strip().lower(),
        phone=phone or "",
        language=language,
        ip=ip or None,
        user_agent=(user_agent or "")[:300],
        **answers,
    )
    withdrawal.full_clean(
        exclude=["requester", "filed_by_service"], validate_unique=False, validate_constraints=False
    )
    _scope_check(withdrawal)
    existing = _submitted(submission_token)
    if existing is not None:
        return _same_filer(existing, filed_by), False
    existing = _same_request_pending(withdrawal)
    if existing is not None:
        if existing.status == Status.UNVERIFIED or existing.requester_id is None:
            # Sent again, perhaps because no email came: the same link goes to the address again. A
            # visitor learns nothing more than from a new request; the address's holder gets the link,
            # which leads to the request's page once it is registered.
            outbox_emails_queue(emails=[emails.confirmation(existing, again=str(submission_token))])
        return existing, False
    # The person acted only when they filed it signed in; a service filing for them is not them.
    actor = None if via_api else requester
    try:
        with transaction.atomic():
            if registered_now:
                _register(withdrawal)
            elif requester is not None or via_api:
                withdrawal.reference = _reference_for(withdrawal)
            withdrawal.save()
            kinds = [Kind.SUBMITTED, Kind.VERIFIED] if registered_now else [Kind.SUBMITTED]
            TimelineEntry.objects.bulk_create(
                [
                    TimelineEntry(request=withdrawal, kind=kind, visible_to_requester=True, actor=actor)
                    for kind in kinds
                ]
            )
            submitted = {
                "status": Status.UNVERIFIED,
                "request_type": withdrawal.request_type,
                "scope": withdrawal.scope,
                "purposes": withdrawal.purposes,
            }
            if via_api:
                submitted.update(channel=withdrawal.channel, service=filed_by.pk, service_name=filed_by.name)
            events = [
                audit_event_build(
                    actor=actor, action="withdrawal.submit", target=withdrawal, details=submitted, ip=ip
                )
            ]
            if registered_now:
                events.append(
                    audit_event_build(
                        actor=requester,
                        action="withdrawal.verify",
                        target=withdrawal,
                        details={
                            "status": withdrawal.status,
                            "due_at": withdrawal.due_at.isoformat(),
                            "requester_email_verified": withdrawal.requester_email_verified,
                        },
                        ip=ip,
                    )
                )
            audit_events_record(events)
            outbox_emails_queue(
                emails=emails.registration(withdrawal)
                if registered_now
                else [emails.confirmation(withdrawal)]
            )
            if registered_now:
                _access_registered(withdrawal, actor=requester)
    except IntegrityError:
        # The same form arrived twice (sent again, or a double click): the first copy stands, the unique
        # token refused the second, and its transaction left nothing behind.
        existing = _submitted(submission_token)
        if existing is None:
            raise
        return _same_filer(existing, filed_by), False
    return withdrawal, True


SCAN_MAX_BYTES = 10 * 1024 * 1024
SCAN_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/tiff"}


def withdrawal_request_register_received(
    *,
    actor: Any,
    channel: str,
    received_at: datetime,
    full_name: str,
    email: str,
    phone: Any,
    postal_address: str,
    scope: str,
    purposes: list[str],
    reason: str,
    acknowledgement: bool,
    language: str,
    account: Any = None,
    scan: Any = None,
    ip: str | None = None,
    request_type: str = RequestType.WITHDRAWAL,
    details: dict | None = None,
) -> WithdrawalRequest:
    """Register an application of any type that reached us by email, post or in person, as staff entered
    it (`details`: the type's answers, as for the web form).

    It is registered at once, in the same reference series; its term counts from `received_at`, and the
    written application goes to the privacy mailbox and the receipt to the requester's address, if any, as
    for one from the web form. `account` is the requester's account as staff identified it (its effects
    apply to it when granted), or None. `scan` is an uploaded file (PDF or image, at most 10 MB) or None.
    """
    if channel not in WithdrawalRequest.Channel.values or channel in (
        WithdrawalRequest.Channel.WEB,
        WithdrawalRequest.Channel.API,
    ):
        raise ValidationError(_("Choose how the application reached us."), code="channel")
    now = timezone.now()
    if received_at > now:
        raise ValidationError(_("The application cannot have reached us in the future."), code="received_at")
    if working_days.local_date(received_at).year < working_days.local_date(now).year - 1:
        raise ValidationError(
            _("An application received before last year cannot be registered here; ask the privacy officer."),
            code="received_at",
        )
    if not email and not postal_address.strip():
        raise ValidationError(_("Give an email or a postal address to answer to."), code="contact")
    if account is not None and email and email.strip().lower() != account.email.lower():
        # The answer (an access package, a decision on the account) would go to someone the account's
        # holder never named.
        raise ValidationError(
            _(
                "The email is not the address of account %(account)s. Use the account's address, or leave "
                "the account number empty."
            )
            % {"account": account.pk},
            code="account_email",
        )
    answers = _request_answers(
        request_type=request_type,
        scope=scope,
        purposes=purposes,
        reason=reason,
        acknowledgement=acknowledgement,
        details=details,
    )
    withdrawal = WithdrawalRequest(
        submission_token=uuid.uuid4(),
        request_type=request_type,
        channel=channel,
        received_at=received_at,
        requester=account,
        full_name=" ".join(full_name.split()),
        email=(email or "").strip().lower(),
        phone=phone or "",
        postal_address=_clean_text(postal_address),
        language=language,
        **answers,
    )
    withdrawal.full_clean(exclude=["requester"], validate_unique=False, validate_constraints=False)
    _scope_check(withdrawal)
    scan_row = None
    if scan is not None:
        if scan.size > SCAN_MAX_BYTES:
            raise ValidationError(_("The scan is larger than 10 MB."), code="scan")
        if (scan.content_type or "").split(";")[0].strip().lower() not in SCAN_TYPES:
            raise ValidationError(_("The scan must be a PDF, JPEG, PNG or TIFF file."), code="scan")
        scan_row = ApplicationScan(
            file_name=(scan.name or "scan")[-200:],
            content_type=scan.content_type,
            size=scan.size,
            data=b"".join(scan.chunks()),
            uploaded_by=actor,
        )
    with transaction.atomic():
        _register(withdrawal)
        withdrawal.save()
        if scan_row is not None:
            scan_row.request = withdrawal
            scan_row.save()
        TimelineEntry.objects.bulk_create(
            [
                TimelineEntry(request=withdrawal, kind=kind, visible_to_requester=True, actor=actor)
                for kind in (Kind.SUBMITTED, Kind.VERIFIED)
            ]
        )
        _audit(
            withdrawal,
            action="register_received",
            actor=actor,
            ip=ip,
            channel=channel,
            received_at=received_at.isoformat(),
            due_at=withdrawal.due_at.isoformat(),
            scan=scan_row is not None,
            account=account.pk if account is not None else None,
        )
        outbox_emails_queue(emails=emails.registration(withdrawal))
        _access_registered(withdrawal, actor=actor)
    return withdrawal


def withdrawal_request_confirm(*, token: str, ip: str | None = None) -> WithdrawalRequest:
    """Register a visitor's request from the signed link in the email; confirming twice is harmless."""
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
        locked = WithdrawalRequest.objects.select_for_update().get(pk=withdrawal.pk)
        if locked.status != Status.UNVERIFIED:
            return _refresh(withdrawal, locked)
        _register(locked)
        locked.requester_email_verified = True
        if locked.requester_id is None:
            # The visitor proved they hold this address. The account with it is theirs only if its holder
            # proved the same before the request was filed; an account that merely claims the address
            # (anyone can sign up with any address) never sees the request.
            locked.requester = (
                get_user_model()
                .objects.filter(
                    email__iexact=locked.email,
                    email_verified_at__isnull=False,
                    email_verified_at__lte=locked.created_at,
                )
                .first()
            )
        locked.save()
        _timeline(locked, kind=Kind.VERIFIED, visible=True)
        _audit(locked, action="verify", ip=ip, due_at=locked.due_at.isoformat())
        outbox_emails_queue(emails=emails.registration(locked))
        _access_registered(locked)
    return _refresh(withdrawal, locked)


def withdrawal_request_information_provide(
    *, withdrawal: WithdrawalRequest, answer: str, ip: str | None = None, actor: Any = None
) -> WithdrawalRequest:
    """Take the requester's answer and return the request to review; the due date stays where it was."""
    answer = _clean_text(answer)
    if not answer:
        raise ValidationError(_("Write your answer."), code="required")
    with transaction.atomic():
        locked = _locked(withdrawal, Step.INFORMATION_PROVIDE)
        waited_since = locked.pause_started_at
        locked.pause_started_at = None
        locked.status = Status.IN_REVIEW
        locked.save()
        entry = _timeline(locked, kind=Kind.INFORMATION_PROVIDED, visible=True, text=answer, actor=actor)
        _audit(locked, action="information_provide", actor=actor, ip=ip, asked_at=waited_since.isoformat())
        outbox_emails_queue(
            emails=[emails.to_staff(locked, event="answered", key=f"answered:{entry.pk}", text=answer)]
        )
    return _refresh(withdrawal, locked)


def withdrawal_request_cancel(
    *, withdrawal: WithdrawalRequest, ip: str | None = None, actor: Any = None
) -> WithdrawalRequest:
    """Withdraw the application before it is decided."""
    with transaction.atomic():
        locked = _locked(withdrawal, Step.CANCEL)
        locked.status = Status.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.pause_started_at = None
        locked.save()
        _timeline(locked, kind=Kind.CANCELLED, visible=True, actor=actor)
        _audit(locked, action="cancel", actor=actor, ip=ip)
        _gathering_stop(locked, actor=actor)
        outbox_emails_queue(
            emails=[
                emails.to_staff(locked, event="cancelled", key="cancelled"),
                *emails.to_requester_if_possible(
                    locked, template="withdrawal_cancelled", key="cancelled-receipt"
                ),
            ]
        )
    return _refresh(withdrawal, locked)


def _gathering_stop(withdrawal: WithdrawalRequest, *, actor: Any) -> None:
    """A request closed without an answer (cancelled, refused) needs nothing more from the connected
    services, and what they sent for it is no longer needed: stop the calls and erase the package."""
    service_calls_cancel(request_id=withdrawal.pk, actor=actor)
    _access_packages_erase([withdrawal.pk], now=timezone.now())


# --- staff -----------------------------------------------------------------------------------------


def withdrawal_request_assign(
    *, withdrawal: WithdrawalRequest, assignee: Any, actor: Any, ip: str | None = None
) -> bool:
    """Give the request to a staff member; return False when they had it already."""
    if not (assignee.is_staff and assignee.is_active):
        raise TransitionNotAllowed(_("Requests can only be assigned to active staff members."))
    with transaction.atomic():
        locked = _locked(withdrawal, Step.ASSIGN)
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
        locked = _locked(withdrawal, Step.REVIEW_START)
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
    """Ask the requester for more information. The statutory term keeps running while we wait."""
    message = _clean_text(message)
    if not message:
        raise TransitionNotAllowed(_("Write what you need to know from the requester."))
    with transaction.atomic():
        locked = _locked(withdrawal, Step.INFORMATION_ASK)
        locked.status = Status.AWAITING_INFORMATION
        locked.pause_started_at = timezone.now()
        locked.save()
        entry = _timeline(locked, kind=Kind.INFORMATION_REQUESTED, visible=True, text=message, actor=actor)
        _audit(locked, action="information_request", actor=actor, ip=ip)
        outbox_emails_queue(
            emails=emails.to_requester_if_possible(
                locked,
                template="withdrawal_information_requested",
                key=f"information:{entry.pk}",
                message=message,
            )
        )
    return _refresh(withdrawal, locked)


def withdrawal_due_dates_recompute(*, day: date, actor: Any = None) -> int:
    """Count again the statutory term of every open request whose term spans `day`, after the working
    calendar changed that day (a day off the government added, a working Saturday): the term is still 15
    working days from the day the application arrived, on the corrected calendar. Audit each request whose
    due date moved and return how many."""
    moved = 0
    start = working_days.end_of_day(day - timedelta(days=1))
    for withdrawal in WithdrawalRequest.objects.filter(
        status__in=WithdrawalRequest.OPEN_STATUSES,
        received_at__lt=working_days.end_of_day(day),
        due_at__gt=start,
    ).select_for_update():
        due_at = working_days.due_at_after(
            withdrawal.received_at, selectors.term_working_days(withdrawal.request_type)
        )
        if due_at != withdrawal.due_at:
            before = withdrawal.due_at
            withdrawal.due_at = due_at
            withdrawal.save(update_fields=["due_at", "updated_at"])
            _audit(
                withdrawal,
                action="due_recompute",
                actor=actor,
                day=day.isoformat(),
                before=before.isoformat(),
                due_at=due_at.isoformat(),
            )
            moved += 1
    return moved


def withdrawal_request_grant(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None
) -> WithdrawalRequest:
    """Grant a withdrawal and apply it: consent and agreement for a full one, third parties told; or grant an
    access request, releasing its package. The other types have their own grant (correction_request_grant,
    blocking_request_grant, destruction_request_grant, objection_request_grant)."""
    with transaction.atomic():
        locked = _locked(withdrawal, Step.GRANT)
        if locked.request_type not in (RequestType.WITHDRAWAL, RequestType.ACCESS):
            raise TransitionNotAllowed(_("Grant this request with the form of its own type."))
        now = timezone.now()
        locked.status = Status.GRANTED
        locked.decided_at = now
        locked.pause_started_at = None
        locked.save()
        user = locked.requester or selectors.withdrawal_account_proven(locked)
        effects: dict[str, Any] = {"user": user.pk if user else None}
        if user is not None and locked.scope == WithdrawalRequest.Scope.ALL:
            details = {"withdrawal": locked.reference}
            effects["consent_withdrawn"] = user_consent_withdraw(
                user=user, at=now, actor=actor, details=details
            )
            effects["agreement_ended"] = user_agreement_end(user=user, at=now, actor=actor, details=details)
        if user is not None and locked.scope == WithdrawalRequest.Scope.PARTIAL:
            effects["purposes_withdrawn"] = user_purposes_withdraw(
                user=user, purposes=locked.purposes, reference=locked.reference, at=now, actor=actor
            )
        # Third parties are told to stop processing for a withdrawal only, not for an access request.
        parties = (
            list(ThirdParty.objects.filter(active=True).order_by("name"))
            if locked.request_type == RequestType.WITHDRAWAL
            else []
        )
        if parties:
            names = ", ".join(party.name for party in parties)
            _timeline(locked, kind=Kind.THIRD_PARTIES_NOTIFIED, visible=False, text=names, actor=actor)
            ThirdPartyNotice.objects.bulk_create(
                [ThirdPartyNotice(request=locked, third_party=party, sent_at=now) for party in parties]
            )
        effects["third_parties"] = [party.pk for party in parties]
        _timeline(locked, kind=Kind.GRANTED, visible=True, actor=actor)
        if locked.request_type == RequestType.ACCESS:
            _access_package_release(locked, actor=actor, ip=ip)
        _audit(locked, action="grant", actor=actor, ip=ip, scope=locked.scope, **effects)
        # An access request's answer is the email that releases its package (one email, with the link).
        decision = (
            []
            if locked.request_type == RequestType.ACCESS
            else emails.to_requester_if_possible(locked, template="withdrawal_granted", key="decision")
        )
        outbox_emails_queue(emails=[*(emails.to_third_party(locked, party) for party in parties), *decision])
    return _refresh(withdrawal, locked)


def withdrawal_request_refuse(
    *, withdrawal: WithdrawalRequest, actor: Any, reason: str, ip: str | None = None
) -> WithdrawalRequest:
    """Refuse with a written reason the requester sees (Law on Personal Data, Art. 8(2))."""
    reason = _clean_text(reason)
    if not reason:
        raise TransitionNotAllowed(_("A refusal needs a written reason."))
    with transaction.atomic():
        locked = _locked(withdrawal, Step.REFUSE)
        locked.status = Status.REFUSED
        locked.decided_at = timezone.now()
        locked.decision_reason = reason
        locked.pause_started_at = None
        locked.save()
        _timeline(locked, kind=Kind.REFUSED, visible=True, text=reason, actor=actor)
        _audit(locked, action="refuse", actor=actor, ip=ip)
        _gathering_stop(locked, actor=actor)
        outbox_emails_queue(
            emails=emails.to_requester_if_possible(
                locked, template="withdrawal_refused", key="decision", decision_reason=reason
            )
        )
    return _refresh(withdrawal, locked)


def withdrawal_request_note_add(
    *, withdrawal: WithdrawalRequest, actor: Any, text: str, ip: str | None = None
) -> TimelineEntry:
    """Add an internal note; the requester never sees it."""
    text = _clean_text(text)
    if not text:
        raise TransitionNotAllowed(_("Write the note."))
    withdrawal_step_check(withdrawal, Step.NOTE)
    with transaction.atomic():
        entry = _timeline(withdrawal, kind=Kind.NOTE, visible=False, text=text, actor=actor)
        _audit(withdrawal, action="note", actor=actor, ip=ip, entry=entry.pk)
    return entry


def withdrawal_third_party_confirm(
    *, notice: ThirdPartyNotice, actor: Any, confirmed_on: date, note: str, ip: str | None = None
) -> ThirdPartyNotice:
    """Record that a third party confirmed, on `confirmed_on`, that it stopped processing; once only.

    A date, not a moment: it is kept as now for today, otherwise noon Almaty of that day, and never before
    the notice itself (a reply the same day as the notice).
    """
    now = timezone.now()
    if confirmed_on == working_days.local_date(now):
        confirmed_at = now
    else:
        noon = datetime.combine(confirmed_on, time(12), tzinfo=COMPANY_TZ)
        confirmed_at = max(noon, notice.sent_at) if confirmed_on <= working_days.local_date(now) else noon
    note = _clean_text(note)
    if not note:
        raise ValidationError(_("Say how they confirmed it, for example the date and number of their reply."))
    if confirmed_at > timezone.now():
        raise ValidationError(_("The confirmation cannot be in the future."))
    if confirmed_at < notice.sent_at:
        raise ValidationError(_("The confirmation cannot be earlier than the notice."))
    with transaction.atomic():
        locked = (
            ThirdPartyNotice.objects.select_for_update()
            .select_related("request", "third_party")
            .get(pk=notice.pk)
        )
        if locked.confirmed_at is not None:
            raise TransitionNotAllowed(_("This third party's confirmation is recorded already."))
        locked.confirmed_at = confirmed_at
        locked.confirmed_by = actor
        locked.confirmation_note = note
        locked.save(update_fields=["confirmed_at", "confirmed_by", "confirmation_note"])
        _timeline(
            locked.request,
            kind=Kind.THIRD_PARTY_CONFIRMED,
            visible=False,
            text=f"{locked.third_party.name}: {note}",
            actor=actor,
        )
        _audit(
            locked.request,
            action="third_party_confirm",
            actor=actor,
            ip=ip,
            third_party=locked.third_party_id,
            confirmed_at=confirmed_at.isoformat(),
        )
    return locked


def withdrawal_request_view_record(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None, view: str = "full"
) -> None:
    """Record that a staff member opened the request (policy clause 3.4), in full or as its status."""
    _audit(withdrawal, action="view", actor=actor, ip=ip, view=view)


ERASED_EMAIL = "erased@erased.invalid"
REQUESTER_TEXT_KINDS = (Kind.SUBMITTED, Kind.INFORMATION_PROVIDED, Kind.CANCELLED)


def withdrawal_personal_data_erase(*, user_ids: list[int], emails: list[str]) -> int:
    """Anonymise the requests of these users, found by account and by address (retention erasure).

    Name, address, phone, reason, the type's answers (details), IP, browser and the requester's own words
    in the timeline go, and so do the addresses and details in the emails about them; the type, status,
    dates, scope, purposes and reference stay. Return how many requests were anonymised.
    """
    requests = WithdrawalRequest.objects.filter(
        Q(requester_id__in=user_ids) | Q(email__in=[email.lower() for email in emails])
    )
    rows = list(requests.values_list("pk", "email"))
    if not rows:
        return 0
    ids = [pk for pk, _email in rows]
    addresses = sorted({email for _pk, email in rows} - {ERASED_EMAIL})
    outbox_personal_data_erase(emails=addresses, topic=TOPIC, object_ids=ids)
    return _requests_anonymise(ids)


def _requests_anonymise(ids: list[int]) -> int:
    """Clear the personal data of these requests (the scan of a paper application included), the
    requester's words in their timelines and the personal part of the audit events about them; return how
    many requests changed."""
    audit_personal_data_erase(targets={WithdrawalRequest._meta.label_lower: ids})
    # Every text of the timeline: the requester's words, and staff's notes, questions and decisions, which
    # quote them (a correction "kept as ...", why a blocking was lifted). The kinds and times stay.
    TimelineEntry.objects.filter(request_id__in=ids).exclude(text="").update(text="")
    # A scan of a letter is the person's own words and details, like the form's: it goes too.
    ApplicationScan.objects.filter(request_id__in=ids).delete()
    # The package and what the connected services answered or carried.
    _access_packages_erase(ids, now=timezone.now())
    return WithdrawalRequest.objects.filter(pk__in=ids).update(
        full_name="",
        email=ERASED_EMAIL,
        phone="",
        postal_address="",
        reason="",
        # The type's answers are the person's words too: the question, the corrections, the decision.
        details={},
        ip=None,
        user_agent="",
        updated_at=timezone.now(),
    )


def withdrawal_visitor_requests_erase(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Anonymise the requests filed without an account RETENTION_YEARS after they were decided or cancelled
    (policy clause 2.4; a daily retention sweep), with the emails about them and the personal part of their
    audit events, chunk by chunk with one `retention.erase` event per request; return how many."""
    erased = 0
    while True:
        with transaction.atomic():
            rows = list(
                selectors.withdrawal_visitor_requests_due_for_erasure(now=now)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", "email", "full_name", "phone", "reference")[:batch_size]
            )
            if not rows:
                return erased
            ids = [row[0] for row in rows]
            addresses = sorted({row[1] for row in rows})
            outbox_topic_personal_data_erase(topic=TOPIC, object_ids=ids, emails=addresses)
            mentions = [*addresses, *(str(value) for row in rows for value in row[2:4] if value)]
            audit_personal_data_erase(mentions=mentions)
            _requests_anonymise(ids)
            audit_events_record(
                [
                    audit_event_build(
                        action="retention.erase",
                        target_type=WithdrawalRequest._meta.label_lower,
                        target_id=str(pk),
                        target_label=reference,
                        details={"retention_years": settings.RETENTION_YEARS, "visitor": True},
                    )
                    for pk, *_personal, reference in rows
                ]
            )
            erased += len(ids)


# --- sweeps ----------------------------------------------------------------------------------------


def withdrawal_unverified_purge(*, now: datetime | None = None) -> int:
    """Delete requests whose email was never confirmed within WITHDRAWAL_UNVERIFIED_DELETE_DAYS."""
    cutoff = selectors.unverified_purge_cutoff(now=now)
    with transaction.atomic():
        stale = WithdrawalRequest.objects.filter(status=Status.UNVERIFIED, created_at__lt=cutoff)
        rows = list(stale.values_list("pk", "email"))
        ids = [pk for pk, _email in rows]
        if not ids:
            return 0
        # The confirm-your-email message and the events of the request would otherwise keep the address.
        outbox_topic_personal_data_erase(topic=TOPIC, object_ids=ids, emails=sorted({e for _pk, e in rows}))
        audit_personal_data_erase(targets={WithdrawalRequest._meta.label_lower: ids})
        WithdrawalRequest.objects.filter(pk__in=ids).delete()
        audit_event_record(
            action="withdrawal.purge_unverified",
            target_type=WithdrawalRequest._meta.label_lower,
            details={"count": len(ids)},
        )
    return len(ids)


def withdrawal_due_digest_send(*, now: datetime | None = None) -> OutboxEmail | None:
    """Email the privacy mailbox the overdue and nearly due requests of every type (counted by type; those
    waiting for the requester flagged), the connected services that have not answered a call with its
    request's term nearly over or over (connectors.selectors.service_calls_unanswered), and the third
    parties that have not confirmed they stopped within the term; nothing when there is nothing to say."""
    now = now or timezone.now()
    overdue = list(selectors.withdrawal_requests_overdue(now=now).select_related("assignee"))
    due_soon = list(selectors.withdrawal_requests_due_soon(now=now).select_related("assignee"))
    parties_late = [
        notice
        for notice in selectors.third_party_notices_unconfirmed().filter(request__due_at__lte=now)[:200]
    ]
    calls = service_calls_unanswered(now=now)[:200]
    if not overdue and not due_soon and not parties_late and not calls:
        return None
    language = settings.PRIVACY_MAILBOX_LANGUAGE

    def row(withdrawal: WithdrawalRequest) -> dict[str, Any]:
        with translation.override(language):
            status_label = str(withdrawal.get_status_display())
            type_label = str(withdrawal.get_request_type_display())
        return {
            "reference": withdrawal.reference,
            "type_label": type_label,
            "full_name": withdrawal.full_name,
            "email": withdrawal.email,
            "status_label": status_label,
            "due_date": emails.day_text(selectors.withdrawal_last_day(withdrawal), language),
            "days_left": selectors.withdrawal_due_state(withdrawal, now=now).days_left,
            "assignee": withdrawal.assignee.email if withdrawal.assignee else "",
            "admin_path": selectors.withdrawal_admin_path(withdrawal),
            # The wait for the requester runs into the due date: the term does not stop for it.
            "waiting_since": emails.day_text(working_days.local_date(withdrawal.pause_started_at), language)
            if withdrawal.pause_started_at
            else "",
        }

    def call_row(call: ServiceCall) -> dict[str, Any]:
        with translation.override(language):
            action_label, state_label = str(call.get_action_display()), str(call.get_state_display())
        return {
            "reference": call.request.reference,
            "service": call.service.name,
            "action_label": action_label,
            "state_label": state_label,
            "attempts": call.attempts,
            "overdue": call.request.due_at <= now,
            "due_date": emails.day_text(selectors.withdrawal_last_day(call.request), language),
            "admin_path": selectors.withdrawal_admin_path(call.request),
        }

    with translation.override(language):
        by_type = [
            {
                "label": str(label),
                "overdue": sum(item.request_type == value for item in overdue),
                "due_soon": sum(item.request_type == value for item in due_soon),
            }
            for value, label in RequestType.choices
        ]
    digest = emails.due_digest(
        today=working_days.local_date(now),
        overdue=[row(item) for item in overdue],
        due_soon=[row(item) for item in due_soon],
        by_type=[counts for counts in by_type if counts["overdue"] or counts["due_soon"]],
        services=[call_row(call) for call in calls],
        third_parties=[
            {
                "reference": notice.request.reference,
                "party": notice.third_party.name,
                "told_on": emails.day_text(working_days.local_date(notice.sent_at), language),
                "admin_path": selectors.withdrawal_admin_path(notice.request),
            }
            for notice in parties_late
        ],
    )
    return outbox_email_queue(email=digest)


# --- Support access --------------------------------------------------------------------------------


def withdrawal_support_access_grant(
    *, withdrawal: WithdrawalRequest, member: Any, actor: Any, ip: str | None = None
) -> bool:
    """Show this registered request's email, phone, reason and IP to one Support member (a Privacy officer's
    decision), with a staff-only timeline entry and an audit event. Return False if they could see them."""
    if withdrawal.status == Status.UNVERIFIED:
        raise TransitionNotAllowed(_("The requester has not confirmed this request yet."))
    if not (member.is_active and member.is_staff and member.groups.filter(name=SUPPORT).exists()):
        raise TransitionNotAllowed(_("Contact details can be shown only to an active member of Support."))
    with transaction.atomic():
        _access, created = SupportAccess.objects.get_or_create(
            request=withdrawal, member=member, defaults={"granted_by": actor}
        )
        if created:
            _timeline(
                withdrawal, kind=Kind.SUPPORT_ACCESS_GRANTED, visible=False, text=member.email, actor=actor
            )
            _audit(withdrawal, action="support_access_grant", actor=actor, ip=ip, member=member.pk)
    return created


def withdrawal_support_access_revoke(
    *, withdrawal: WithdrawalRequest, member: Any, actor: Any, ip: str | None = None
) -> bool:
    """Hide this request's contact details from a Support member again; return False if they could not see
    them."""
    with transaction.atomic():
        deleted, _rows = SupportAccess.objects.filter(request=withdrawal, member=member).delete()
        if deleted:
            _timeline(
                withdrawal, kind=Kind.SUPPORT_ACCESS_REVOKED, visible=False, text=member.email, actor=actor
            )
            _audit(withdrawal, action="support_access_revoke", actor=actor, ip=ip, member=member.pk)
    return bool(deleted)


# --- Decisions on the other rights: correction, blocking, destruction, objection --------------------


def _granted(withdrawal: WithdrawalRequest, request_type: str) -> WithdrawalRequest:
    """Return the request's row locked and marked granted now, once its status allows it and it is of
    `request_type`. Call it in a transaction."""
    locked = _locked(withdrawal, Step.GRANT)
    if locked.request_type != request_type:
        raise TransitionNotAllowed(_("Grant this request with the form of its own type."))
    locked.status = Status.GRANTED
    locked.decided_at = timezone.now()
    locked.pause_started_at = None
    locked.save()
    return locked


def _service_names(calls: list[ServiceCall]) -> list[str]:
    return [call.service.name for call in calls]


def correction_request_grant(
    *,
    withdrawal: WithdrawalRequest,
    actor: Any,
    changes: dict[str, str],
    note: str = "",
    ip: str | None = None,
) -> WithdrawalRequest:
    """Grant a correction: apply `changes` ({field: new value}, fields of details.CORRECTION_FIELDS) to what
    the portal holds (the account's name, phone and email, through accounts.services.user_details_correct:
    each change audited with its old value) and pass each change to the connected services that hold the
    field.

    Staff may apply only part of what was asked (a partial grant): `note` then says what was not changed and
    why; the requester sees it on the request's page and in the decision email, which lists every change.
    Raise ValidationError (nothing changed) for a field that cannot be corrected, an empty or invalid value,
    or a partial grant without a note.
    """
    unknown = sorted(set(changes) - set(CORRECTION_FIELDS))
    if unknown:
        raise ValidationError(_("These details cannot be corrected: %(fields)s.") % {"fields": unknown})
    changes = {field: " ".join(str(value or "").split()) for field, value in changes.items()}
    if not changes:
        raise ValidationError(
            _("Tick at least one correction to apply, or refuse the request."), code="empty"
        )
    if not all(changes.values()):
        raise ValidationError(_("Give the new value of each correction you apply."), code="value")
    note = _clean_text(note)
    asked = {item.field for item in correction_items(withdrawal)}
    partial = bool(asked - set(changes))
    if partial and not note:
        raise ValidationError(
            _("Say what was not changed and why; the requester reads it."), code="partial_note"
        )
    with transaction.atomic():
        locked = _granted(withdrawal, RequestType.CORRECTION)
        user = selectors.withdrawal_account(locked)
        portal = {field: value for field, value in changes.items() if field in CORRECTABLE_FIELDS}
        made = []
        if user is not None and portal:
            made = user_details_correct(
                user=user, changes=portal, actor=actor, reference=locked.reference, ip=ip
            )
        corrected = {change["field"]: change for change in made}
        calls = service_calls_start(
            request=locked,
            action=Action.CORRECT,
            changes=[
                {"field": field, "value": corrected[field]["new"], "old": corrected[field]["old"]}
                if field in corrected
                else {"field": field, "value": value}
                for field, value in changes.items()
            ],
            actor=actor,
        )
        _timeline(locked, kind=Kind.GRANTED, visible=True, text=note, actor=actor)
        _audit(
            locked,
            action="grant",
            actor=actor,
            ip=ip,
            user=user.pk if user else None,
            fields=sorted(changes),
            portal_fields=sorted(corrected),
            partial=partial,
            services=[call.service_id for call in calls],
        )
        with translation.override(locked.language):
            listed = [
                {
                    "label": correction_field_label(field),
                    "value": corrected[field]["new"] if field in corrected else value,
                    "in_portal": field in corrected,
                }
                for field, value in changes.items()
            ]
        outbox_emails_queue(
            emails=emails.to_requester_if_possible(
                locked,
                template="correction_granted",
                key="decision",
                changes=listed,
                partial=partial,
                note=note,
                new_email=corrected["email"]["new"] if "email" in corrected else "",
                services=_service_names(calls),
            )
        )
    return _refresh(withdrawal, locked)


def blocking_request_grant(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None
) -> WithdrawalRequest:
    """Grant a blocking: the account is marked blocked (nothing of the person's data is collected, used,
    shared, changed or erased until it is lifted; consent-status and the webhooks say so) and every
    connected service that can is called to block it."""
    with transaction.atomic():
        locked = _granted(withdrawal, RequestType.BLOCKING)
        user = selectors.withdrawal_account(locked)
        blocked = (
            user_block(user=user, reference=locked.reference, actor=actor, at=locked.decided_at)
            if user is not None
            else False
        )
        calls = service_calls_start(request=locked, action=Action.BLOCK, actor=actor)
        _timeline(locked, kind=Kind.GRANTED, visible=True, actor=actor)
        _audit(
            locked,
            action="grant",
            actor=actor,
            ip=ip,
            user=user.pk if user else None,
            blocked=blocked,
            services=[call.service_id for call in calls],
        )
        outbox_emails_queue(
            emails=emails.to_requester_if_possible(
                locked,
                template="blocking_granted",
                key="decision",
                has_account=user is not None,
                services=_service_names(calls),
            )
        )
    return _refresh(withdrawal, locked)


def blocking_request_unblock(
    *, withdrawal: WithdrawalRequest, actor: Any, note: str, ip: str | None = None
) -> WithdrawalRequest:
    """Lift the blocking a granted blocking request put in place: the account is unblocked and every
    connected service that can is called to unblock; `note` says why and the requester reads it. Once only.
    """
    note = _clean_text(note)
    if not note:
        raise TransitionNotAllowed(_("Say why the blocking is lifted; the requester reads it."))
    with transaction.atomic():
        locked = WithdrawalRequest.objects.select_for_update().get(pk=withdrawal.pk)
        if not selectors.withdrawal_unblock_allowed(locked):
            raise TransitionNotAllowed(_("Only a granted blocking request not lifted yet can be unblocked."))
        user = selectors.withdrawal_account(locked)
        if user is not None and user.blocked_at and user.blocked_reference != locked.reference:
            # A second blocking granted while the first was in force changed nothing; lifting it must not
            # lift the first one, nor tell the services to resume.
            raise TransitionNotAllowed(
                _("This person's data is blocked under request %(reference)s; lift the blocking there.")
                % {"reference": user.blocked_reference}
            )
        lifted = (
            user_unblock(user=user, reference=locked.reference, actor=actor) if user is not None else False
        )
        calls = service_calls_start(request=locked, action=Action.UNBLOCK, actor=actor)
        _timeline(locked, kind=Kind.UNBLOCKED, visible=True, text=note, actor=actor)
        _audit(
            locked,
            action="unblock",
            actor=actor,
            ip=ip,
            user=user.pk if user else None,
            unblocked=lifted,
            services=[call.service_id for call in calls],
        )
        outbox_emails_queue(
            emails=emails.to_requester_if_possible(
                locked,
                template="blocking_lifted",
                key="unblocked",
                note=note,
                services=_service_names(calls),
            )
        )
    return _refresh(withdrawal, locked)


def objection_request_grant(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None
) -> WithdrawalRequest:
    """Grant an objection to automated processing (Art. 19-1): the account records it, and consent-status and
    the webhooks tell the other services to take no decision about the person solely by automated means."""
    with transaction.atomic():
        locked = _granted(withdrawal, RequestType.OBJECTION)
        user = selectors.withdrawal_account(locked)
        recorded = (
            user_automated_processing_object(
                user=user, reference=locked.reference, actor=actor, at=locked.decided_at
            )
            if user is not None
            else False
        )
        _timeline(locked, kind=Kind.GRANTED, visible=True, actor=actor)
        _audit(locked, action="grant", actor=actor, ip=ip, user=user.pk if user else None, recorded=recorded)
        outbox_emails_queue(
            emails=emails.to_requester_if_possible(
                locked, template="objection_granted", key="decision", has_account=user is not None
            )
        )
    return _refresh(withdrawal, locked)


def destruction_request_grant(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None
) -> WithdrawalRequest:
    """Grant a destruction: every connected service that can is called to destroy the person's data, and the
    portal's is erased now by the same erasers as retention (accounts.services.user_data_erase: the
    account, its requests, emails, acceptance evidence IPs, the personal part of audit events), keeping
    only what the law requires (the closing letter lists it).

    The request itself stays, without contact details, as the proof that it was handled. The closing letter
    is written now, held, to the only copy of the address left; it is sent once every destroy call has its
    answer (destruction_closing_letter_release), naming which services confirmed, and its address is
    erased once it is sent. Without an email address the letter goes to the privacy mailbox to be posted.
    """
    with transaction.atomic():
        locked = _granted(withdrawal, RequestType.DESTRUCTION)
        user = selectors.withdrawal_account(locked)
        address, postal_address = locked.email, locked.postal_address
        # Each call keeps what it posts (the person's name, address, phone) until its service answers.
        calls = service_calls_start(request=locked, action=Action.DESTROY, actor=actor)
        _timeline(locked, kind=Kind.GRANTED, visible=True, actor=actor)
        details = {"reference": locked.reference}
        if user is not None:
            user_agreement_end(user=user, at=locked.decided_at, actor=actor, details=details)
            user_data_erase(user_ids=[user.pk], actor=actor, details=details)
        elif locked.requester_email_verified and address:
            # A visitor who proved the address: their other requests from it go too.
            withdrawal_personal_data_erase(user_ids=[], emails=[address])
        outbox_topic_personal_data_erase(
            topic=TOPIC, object_ids=[locked.pk], emails=[address] if address else []
        )
        _requests_anonymise([locked.pk])
        locked.refresh_from_db()
        _audit(
            locked,
            action="grant",
            actor=actor,
            ip=ip,
            user=user.pk if user else None,
            erased=user is not None,
            services=[call.service_id for call in calls],
        )
        outbox_email_hold(
            email=emails.closing_letter(
                locked,
                to=address or settings.PRIVACY_MAILBOX,
                language=locked.language,
                had_account=user is not None,
                post_to="" if address else postal_address,
            )
        )
        destruction_closing_letter_release(withdrawal=locked)
    return _refresh(withdrawal, locked)


KEPT_ITEMS_MAX = 10
KEPT_TEXT_MAX = 300


def _kept_by(call: ServiceCall) -> list[dict[str, str]]:
    """Return what a service said it kept after destroying, and why ({"data", "reason"} items of its
    answer's "kept"); nothing for an answer that does not say."""
    kept = (call.result or {}).get("kept") if call.state == ServiceCall.State.DONE else None
    return [
        {
            "data": str(item.get("data", ""))[:KEPT_TEXT_MAX],
            "reason": str(item.get("reason", ""))[:KEPT_TEXT_MAX],
        }
        for item in (kept if isinstance(kept, list) else [])[:KEPT_ITEMS_MAX]
        if isinstance(item, dict) and item.get("data")
    ]


def destruction_service_answer_add(*, withdrawal: WithdrawalRequest, call: ServiceCall) -> bool:
    """Add a destroy call's final answer (the service, its answer, the day, what it kept and why) to the
    held closing letter of a granted destruction request, then send the letter if every destroy call is
    answered. Return whether it was sent now."""
    if withdrawal.request_type != RequestType.DESTRUCTION or call.action != Action.DESTROY:
        return False
    item = {
        "name": call.service.name,
        "state": call.state,
        "answered_on": emails.day_text(working_days.local_date(call.answered_at), withdrawal.language),
        "kept": _kept_by(call),
    }
    with transaction.atomic():
        # The letter's row stays locked: of two answers at the same time, the second sees the first.
        outbox_email_held_add(dedup_key=emails.dedup_key(withdrawal, "closing"), key="services", item=item)
        return destruction_closing_letter_release(withdrawal=withdrawal)


def destruction_closing_letter_release(*, withdrawal: WithdrawalRequest) -> bool:
    """Send the held closing letter of a granted destruction request once every destroy call has its final
    answer; return whether it was sent now (a letter sent already is not sent again)."""
    if withdrawal.request_type != RequestType.DESTRUCTION or withdrawal.status != Status.GRANTED:
        return False
    if not service_calls_all_final(withdrawal.pk, Action.DESTROY):
        return False
    with transaction.atomic():
        letter = outbox_email_release(dedup_key=emails.dedup_key(withdrawal, "closing"))
        if letter is None:
            return False
        _timeline(withdrawal, kind=Kind.CLOSING_LETTER, visible=True)
        _audit(
            withdrawal,
            action="closing_letter",
            email=letter.pk,
            services={item["name"]: item["state"] for item in letter.context.get("services", [])},
        )
    return True


def withdrawal_service_answer_record(*, withdrawal: WithdrawalRequest, call: ServiceCall) -> TimelineEntry:
    """Note on the request's timeline (staff only) that a connected service gave its final answer."""
    return _timeline(
        withdrawal,
        kind=Kind.SERVICE_ANSWERED,
        visible=False,
        text=f"{call.service.name} · {call.action} · {call.state}",
        actor=call.marked_by,
    )


# --- the access package (Law on Personal Data, Art. 24; docs/access-package.md) -------------------

EXPORT = "export"
ACCESS_PACKAGE_ERASE_BATCH = 500


class PackageUnavailable(Exception):
    """The access package cannot be sent or opened now. `reason`: "not_ready", "expired", "erased",
    "no_email", "invalid" (the link), "link_expired", "used" (the link); `link` is the link, once known."""

    def __init__(self, reason: str, *, link: AccessPackageLink | None = None):
        super().__init__(reason)
        self.reason = reason
        self.link = link


def _access_registered(withdrawal: WithdrawalRequest, *, actor: Any = None) -> None:
    """Ask every connected service for the person's data as an access request is registered (in the
    transaction that registers it: the calls go out after commit); build the package at once when no
    service is connected. Any other type of request is left alone."""
    if withdrawal.request_type != RequestType.ACCESS:
        return
    service_calls_start(request=withdrawal, action=EXPORT, actor=_actor(actor))
    if service_calls_all_final(withdrawal.pk, EXPORT):
        _access_package_build(withdrawal)


def _export_calls(withdrawal: WithdrawalRequest) -> list:
    return [call for call in service_calls_of_request(withdrawal.pk) if call.action == EXPORT]


def _access_package_build(withdrawal: WithdrawalRequest, *, actor: Any = None, ip=None) -> AccessPackage:
    """Build (or build again) the request's package from what the portal holds now and what the services
    returned. Call it in a transaction that holds the request's row."""
    account = withdrawal.requester or selectors.withdrawal_account_proven(withdrawal)
    calls = _export_calls(withdrawal)
    now = timezone.now()
    document = access_package_document(withdrawal=withdrawal, account=account, calls=calls, now=now)
    package, created = AccessPackage.objects.update_or_create(
        request=withdrawal,
        defaults={
            "language": withdrawal.language,
            "document": document,
            "html": access_package_html(document),
            "built_at": now,
            "built_by": _actor(actor),
            "erased_at": None,
        },
    )
    _timeline(withdrawal, kind=Kind.PACKAGE_BUILT, visible=False, actor=actor)
    _audit(
        withdrawal,
        action="package_build",
        actor=actor,
        ip=ip,
        rebuilt=not created,
        account=account.pk if account is not None else None,
        services={str(call.service_id): call.state for call in calls},
    )
    return package


def access_package_service_call_finished(*, call: Any) -> AccessPackage | None:
    """Build the package of an access request once the last of its export calls is final; return it, or
    None when there is nothing to build yet (or any more: a released package never changes).

    Called in the transaction of the call's final answer. The request's row is locked first, so of two
    services answering at once the second one to commit sees both answers and builds."""
    if call.action != EXPORT or call.erase_when_final:
        # An answer that came after the request's personal data was erased is erased too, not packaged.
        return None
    withdrawal = (
        WithdrawalRequest.objects.select_for_update()
        .filter(
            pk=call.request_id, request_type=RequestType.ACCESS, status__in=WithdrawalRequest.OPEN_STATUSES
        )
        .first()
    )
    # A package built already is built again when a service asked later (registered after the request
    # arrived) answers, until it is released: what the person is given then does not change.
    if (
        withdrawal is None
        or AccessPackage.objects.filter(request=withdrawal, released_at__isnull=False).exists()
    ):
        return None
    if not service_calls_all_final(withdrawal.pk, EXPORT):
        return None
    return _access_package_build(withdrawal)


def access_package_rebuild(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None
) -> AccessPackage:
    """Build the package again at a staff member's request (after marking a service done by hand, or when
    the portal's data changed): only while the request is open, every service has answered, and the
    package has not been released to the person. A service registered since the request arrived is asked
    first (the package is then built when it answers, and the step says so)."""
    asked = 0
    with transaction.atomic():
        locked = WithdrawalRequest.objects.select_for_update().get(pk=withdrawal.pk)
        if locked.request_type != RequestType.ACCESS:
            raise TransitionNotAllowed(_("Only an access request has a data package."))
        if not locked.is_open:
            raise TransitionNotAllowed(_("The data package can be built only while the request is open."))
        package = AccessPackage.objects.filter(request=locked).first()
        if package is not None and package.released_at is not None:
            raise TransitionNotAllowed(
                _("The data package was released to the person; what they were given does not change.")
            )
        known = ServiceCall.objects.filter(request=locked, action=Action.EXPORT).count()
        asked = len(service_calls_start(request=locked, action=Action.EXPORT, actor=actor)) - known
        state = selectors.access_package_state(locked)
        if not asked and state.answered < state.total:
            raise TransitionNotAllowed(
                _(
                    "%(answered)s of %(total)s services have answered. Wait for the others, or mark them "
                    "done by hand, then build the package."
                )
                % {"answered": state.answered, "total": state.total}
            )
        if not asked:
            return _access_package_build(locked, actor=actor, ip=ip)
    # The new calls are committed: they go out now, and their answers build the package.
    raise TransitionNotAllowed(
        ngettext(
            "%(count)s service registered since the request arrived was asked for the person's data; the "
            "package is built when it answers.",
            "%(count)s services registered since the request arrived were asked for the person's data; the "
            "package is built when they answer.",
            asked,
        )
        % {"count": asked}
    )


def _access_package_release(withdrawal: WithdrawalRequest, *, actor: Any, ip=None) -> AccessPackage:
    """Open the package's download to the person for ACCESS_PACKAGE_DOWNLOAD_DAYS and email them; part of
    granting an access request, in its transaction. Refused (and so is the grant) while it is not built."""
    package = AccessPackage.objects.select_for_update().filter(request=withdrawal).first()
    if package is None or package.erased_at is not None:
        state = selectors.access_package_state(withdrawal)
        raise TransitionNotAllowed(
            _(
                "The data package is not built yet (%(answered)s of %(total)s services have answered), so "
                "the request cannot be granted. Wait for the services or mark them done by hand, then "
                "build the package."
            )
            % {"answered": state.answered, "total": state.total}
        )
    if package.released_at is not None:
        return package
    now = timezone.now()
    package.released_at = now
    package.expires_at = now + timedelta(days=settings.ACCESS_PACKAGE_DOWNLOAD_DAYS)
    package.save(update_fields=["released_at", "expires_at"])
    _timeline(withdrawal, kind=Kind.PACKAGE_RELEASED, visible=True, actor=actor)
    _audit(
        withdrawal, action="package_release", actor=actor, ip=ip, expires_at=package.expires_at.isoformat()
    )
    outbox_emails_queue(emails=emails.access_package_released(withdrawal, expires_at=package.expires_at))
    return package


def _package_check(package: AccessPackage | None, *, now: datetime) -> AccessPackage:
    """Return the package if its download is open now; raise PackageUnavailable otherwise."""
    if package is None or package.released_at is None:
        raise PackageUnavailable("not_ready")
    if now >= package.expires_at:
        raise PackageUnavailable("expired")
    if package.erased_at is not None:
        raise PackageUnavailable("erased")
    return package


def access_package_link_send(
    *, withdrawal: WithdrawalRequest, ip: str | None = None, actor: Any = None
) -> AccessPackageLink:
    """Email a one-time link to download the package to the request's address: following it, the person
    proves again that they hold the address (the status page's own link may have been passed on)."""
    with transaction.atomic():
        package = _package_check(
            AccessPackage.objects.select_for_update().filter(request=withdrawal).first(), now=timezone.now()
        )
        if not withdrawal.email:
            raise PackageUnavailable("no_email")
        link = AccessPackageLink.objects.create(package=package)
        _audit(withdrawal, action="package_link_send", actor=actor, ip=ip, link=str(link.pk))
        outbox_emails_queue(
            emails=[
                emails.access_package_link(
                    withdrawal, link_id=link.pk, link_path=selectors.access_package_link_path(link)
                )
            ]
        )
    return link


def access_package_link_check(*, token: str) -> AccessPackageLink:
    """Return the link a token names if it can be used now (nothing changes); raise PackageUnavailable."""
    try:
        link_id, too_old = tokens.package_link_token_read(token)
    except tokens.LinkInvalid as exc:
        raise PackageUnavailable("invalid") from exc
    link = AccessPackageLink.objects.select_related("package__request").filter(pk=link_id).first()
    if link is None:
        raise PackageUnavailable("invalid")
    try:
        _package_check(link.package, now=timezone.now())
    except PackageUnavailable as exc:
        raise PackageUnavailable(exc.reason, link=link) from exc
    if link.used_at is not None:
        raise PackageUnavailable("used", link=link)
    if too_old:
        raise PackageUnavailable("link_expired", link=link)
    return link


def access_package_link_use(*, token: str, ip: str | None = None, actor: Any = None) -> AccessPackageLink:
    """Use a one-time download link: it works once; the caller then opens the downloads in that browser
    for ACCESS_PACKAGE_SESSION_MINUTES."""
    link = access_package_link_check(token=token)
    with transaction.atomic():
        used = AccessPackageLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not used:
            raise PackageUnavailable("used", link=link)
        _audit(link.package.request, action="package_link_use", actor=actor, ip=ip, link=str(link.pk))
    link.refresh_from_db(fields=["used_at"])
    return link


PACKAGE_FORMATS = ("json", "html", "zip")


def access_package_download_record(
    *, package: AccessPackage, file_format: str, link_id: str, ip: str | None = None, actor: Any = None
) -> AccessPackage:
    """Record a download of the package (who, when, from where, which format) in the audit log and on the
    request's timeline, which the person sees; return the package, checked and with its content."""
    if file_format not in PACKAGE_FORMATS:
        raise PackageUnavailable("invalid")
    with transaction.atomic():
        package = _package_check(AccessPackage.objects.filter(pk=package.pk).first(), now=timezone.now())
        withdrawal = package.request
        _timeline(
            withdrawal, kind=Kind.PACKAGE_DOWNLOADED, visible=True, text=file_format.upper(), actor=actor
        )
        _audit(withdrawal, action="package_download", actor=actor, ip=ip, format=file_format, link=link_id)
    return package


def access_package_view_record(
    *, withdrawal: WithdrawalRequest, actor: Any, ip: str | None = None, file_format: str = "html"
) -> None:
    """Record that a staff member opened the package's preview: a view of the person's data (clause 3.4)."""
    withdrawal_request_view_record(withdrawal=withdrawal, actor=actor, ip=ip, view=f"package_{file_format}")


def _access_packages_erase(request_ids: list[int], *, now: datetime) -> list[int]:
    """Clear the content of these requests' packages and what the connected services answered or carried
    for them (the same personal data; a call still owed an answer keeps what it posts until it is
    answered: a destroy call must still name the person); return the requests whose package changed."""
    packages = AccessPackage.objects.filter(request_id__in=request_ids, erased_at__isnull=True)
    changed = list(packages.values_list("request_id", flat=True))
    packages.update(document={}, html="", erased_at=now)
    service_calls_personal_data_erase(request_ids=list(request_ids))
    return changed


def access_packages_erase_expired(*, now: datetime | None = None) -> int:
    """Erase the content of the packages built more than ACCESS_PACKAGE_KEEP_DAYS ago, except one whose
    download is still open (a daily sweep); return how many. Each gets a timeline entry and an audit event."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCESS_PACKAGE_KEEP_DAYS)
    erased = 0
    while True:
        with transaction.atomic():
            rows = list(
                AccessPackage.objects.select_for_update(skip_locked=True)
                .filter(erased_at__isnull=True, built_at__lt=cutoff)
                .exclude(expires_at__gt=now)
                .order_by("pk")
                .values_list("request_id", flat=True)[:ACCESS_PACKAGE_ERASE_BATCH]
            )
            if not rows:
                return erased
            ids = _access_packages_erase(rows, now=now)
            requests = WithdrawalRequest.objects.filter(pk__in=ids).only("pk", "reference", "status")
            TimelineEntry.objects.bulk_create(
                [
                    TimelineEntry(request=item, kind=Kind.PACKAGE_ERASED, visible_to_requester=True)
                    for item in requests
                ]
            )
            audit_events_record(
                [
                    audit_event_build(
                        action="withdrawal.package_erase",
                        target=item,
                        details={"status": item.status, "keep_days": settings.ACCESS_PACKAGE_KEEP_DAYS},
                    )
                    for item in requests
                ]
            )
            erased += len(ids)
