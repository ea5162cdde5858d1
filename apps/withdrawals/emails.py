"""The emails of a withdrawal request, built as outbox rows (unsaved); the services queue them with the
change that causes them. Every one is about the request: topic "withdrawal", object the request's id."""

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.formats import date_format

from apps.acceptances.selectors import acceptance_history
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_email_build

from . import selectors
from .details import ARTICLES, details_for_display
from .models import RequestType, ThirdParty, WithdrawalRequest

TOPIC = "withdrawal"
LANGUAGE_NAMES = dict(settings.LANGUAGES)


def day_text(value: date, language: str) -> str:
    with translation.override(language):
        return date_format(value, "DATE_FORMAT")


def _moment(value: datetime | None) -> str:
    """Return `value` as local date and time in the active language."""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else ""


def _account(withdrawal: WithdrawalRequest):
    """Return the account the request concerns: the one it was filed from, or the one whose holder
    confirmed the request's address; None for anyone else."""
    if withdrawal.requester_id:
        return withdrawal.requester
    if not withdrawal.email:
        return None
    return (
        get_user_model()
        .objects.filter(email__iexact=withdrawal.email, email_verified_at__isnull=False)
        .only("pk", "email", "full_name")
        .first()
    )


def accepted_versions(user, language: str) -> list[dict[str, Any]]:
    """Return the policy versions the account accepted, with when and how, as text in `language`."""
    if user is None:
        return []
    with translation.override(language):
        return [
            {
                "number": acceptance.version.number,
                "accepted_at": _moment(acceptance.accepted_at),
                "method": str(acceptance.get_method_display()),
            }
            for acceptance in acceptance_history(user=user)
        ]


def facts(withdrawal: WithdrawalRequest, language: str) -> dict[str, Any]:
    """Return the request's details as JSON-safe text in `language`, for an email."""
    last_day = selectors.withdrawal_last_day(withdrawal)
    with translation.override(language):
        return {
            "request_type": withdrawal.request_type,
            "request_type_label": str(RequestType(withdrawal.request_type).label),
            "article": str(ARTICLES[withdrawal.request_type]),
            "details": details_for_display(withdrawal.request_type, withdrawal.details),
            "service_name": _service_name(withdrawal),
            "reference": withdrawal.reference or "",
            "full_name": withdrawal.full_name,
            "email": withdrawal.email,
            "phone": str(withdrawal.phone or ""),
            "scope": withdrawal.scope,
            "scope_label": str(WithdrawalRequest.Scope(withdrawal.scope).label) if withdrawal.scope else "",
            "purposes": withdrawal.purpose_labels(),
            "reason": withdrawal.reason,
            "acknowledgement": withdrawal.acknowledgement,
            "request_language": str(LANGUAGE_NAMES.get(withdrawal.language, withdrawal.language)),
            "status_label": str(WithdrawalRequest.Status(withdrawal.status).label),
            "submitted_at": _moment(withdrawal.created_at),
            "verified_at": _moment(withdrawal.verified_at),
            "due_date": date_format(last_day, "DATE_FORMAT") if last_day else "",
            "due_working_days": selectors.term_working_days(withdrawal.request_type),
            "channel": withdrawal.channel,
            "channel_label": str(WithdrawalRequest.Channel(withdrawal.channel).label),
            "received_at": _moment(withdrawal.received_at),
            "postal_address": withdrawal.postal_address,
            "account_email": withdrawal.requester.email if withdrawal.requester_id else "",
            "account_name": withdrawal.requester.full_name if withdrawal.requester_id else "",
            "account_id": withdrawal.requester_id or "",
            "requester_email_verified": withdrawal.requester_email_verified,
            "ip": withdrawal.ip or "",
            "user_agent": withdrawal.user_agent,
        }


def dedup_key(withdrawal: WithdrawalRequest, name: str) -> str:
    """Return the de-duplication key of the request's email called `name` (e.g. "decision")."""
    return f"withdrawal:{withdrawal.pk}:{name}"


def _service_name(withdrawal: WithdrawalRequest) -> str:
    """Return the name staff gave the connected service that filed the request, or "" for any other."""
    return withdrawal.filed_by_service.name if withdrawal.filed_by_service_id else ""


def _about(withdrawal: WithdrawalRequest, *, key: str, **fields: Any) -> OutboxEmail:
    return outbox_email_build(
        topic=TOPIC, object_id=withdrawal.pk, dedup_key=dedup_key(withdrawal, key), **fields
    )


def to_requester(withdrawal: WithdrawalRequest, *, template: str, key: str, **extra: Any) -> OutboxEmail:
    """An email to the requester, in their language, with the request's details and its status link."""
    return _about(
        withdrawal,
        key=key,
        to=withdrawal.email,
        template=template,
        language=withdrawal.language,
        context={
            **facts(withdrawal, withdrawal.language),
            "status_path": selectors.withdrawal_status_path(withdrawal),
            **extra,
        },
        user=withdrawal.requester,
        # Answers to the requester invite a reply; it goes to the people who handle the request.
        reply_to=settings.PRIVACY_MAILBOX,
    )


def to_requester_if_possible(
    withdrawal: WithdrawalRequest, *, template: str, key: str, **extra: Any
) -> list[OutboxEmail]:
    """The email to the requester, or none when the application came without an address (by post)."""
    if not withdrawal.email:
        return []
    return [to_requester(withdrawal, template=template, key=key, **extra)]


def confirmation(withdrawal: WithdrawalRequest, *, again: str = "") -> OutboxEmail:
    """The confirm-your-email link to a visitor, or to the person a connected service filed for.

    The address is not known to be the requester's yet, so the email carries nothing the requester typed:
    no name that would greet a stranger with words of the sender's choosing under Alilo's name. It says
    which type of request it is, and which of Alilo's services sent it, if one did.
    """
    return _about(
        withdrawal,
        key=f"confirm-again:{again}" if again else "confirm",
        to=withdrawal.email,
        template="withdrawal_confirm",
        language=withdrawal.language,
        context={
            "request_type": withdrawal.request_type,
            # The name staff gave the service, never words of the sender's choosing.
            "service_name": _service_name(withdrawal),
            "confirm_path": selectors.withdrawal_confirm_path(withdrawal),
            "hours": settings.WITHDRAWAL_CONFIRM_HOURS,
        },
    )


def registration(withdrawal: WithdrawalRequest) -> list[OutboxEmail]:
    """The written application to the privacy mailbox (policy clause 2.6) and the receipt to the
    requester."""
    language = settings.PRIVACY_MAILBOX_LANGUAGE
    application = _about(
        withdrawal,
        key="application",
        to=settings.PRIVACY_MAILBOX,
        template="withdrawal_application",
        language=language,
        context={
            **facts(withdrawal, language),
            "admin_path": selectors.withdrawal_admin_path(withdrawal),
            "accepted_versions": accepted_versions(_account(withdrawal), language),
        },
        reply_to=withdrawal.email,
    )
    receipt = to_requester_if_possible(withdrawal, template="withdrawal_received", key="received")
    return [application, *receipt]


def closing_letter(
    withdrawal: WithdrawalRequest, *, to: str, language: str, had_account: bool, post_to: str = ""
) -> OutboxEmail:
    """The letter that closes a granted destruction request: what was destroyed, what was kept and why, and
    (added when it is released) which connected services confirmed. Built before the request's contact
    details are erased, so `to` is the only copy of the address; it is erased once the letter is sent.
    Without an email address it goes to the privacy mailbox, with the postal address `post_to`, to be
    posted."""
    with translation.override(language):
        type_label = str(RequestType(withdrawal.request_type).label)
    email = _about(
        withdrawal,
        key="closing",
        to=to,
        template="destruction_closing",
        language=language,
        context={
            "reference": withdrawal.reference,
            "request_type_label": type_label,
            "status_path": selectors.withdrawal_status_path(withdrawal),
            "had_account": had_account,
            "post_to": post_to,
            "services": [],
        },
        reply_to=settings.PRIVACY_MAILBOX if not post_to else "",
    )
    email.erase_when_sent = True
    return email


def to_staff(withdrawal: WithdrawalRequest, *, event: str, key: str, text: str = "") -> OutboxEmail:
    """Tell the assignee (or the privacy mailbox) that the requester did something."""
    assignee = withdrawal.assignee
    language = assignee.language if assignee else settings.PRIVACY_MAILBOX_LANGUAGE
    return _about(
        withdrawal,
        key=key,
        to=assignee.email if assignee else settings.PRIVACY_MAILBOX,
        template="withdrawal_staff_update",
        language=language,
        context={
            **facts(withdrawal, language),
            "event": event,
            "text": text,
            "admin_path": selectors.withdrawal_admin_path(withdrawal),
        },
        reply_to=withdrawal.email,
        user=assignee,
    )


def to_third_party(withdrawal: WithdrawalRequest, party: ThirdParty) -> OutboxEmail:
    """Tell a third party the data was shared with to stop processing (Law on Personal Data, Art. 8(7))."""
    return _about(
        withdrawal,
        key=f"third-party:{party.pk}",
        to=party.contact_email,
        template="withdrawal_third_party",
        language=party.language,
        context={**facts(withdrawal, party.language), "party_name": party.name},
        reply_to=settings.PRIVACY_MAILBOX,
    )


def due_digest(
    *,
    today: date,
    overdue: list[dict],
    due_soon: list[dict],
    third_parties: list[dict],
    by_type: list[dict] = (),
    services: list[dict] = (),
) -> OutboxEmail:
    """The daily list of overdue and nearly due requests to the privacy mailbox, counted by type, with the
    connected services that have not answered near or past a due date."""
    language = settings.PRIVACY_MAILBOX_LANGUAGE
    return outbox_email_build(
        to=settings.PRIVACY_MAILBOX,
        template="withdrawal_due_digest",
        language=language,
        context={
            "date": day_text(today, language),
            "overdue": overdue,
            "due_soon": due_soon,
            "due_soon_days": settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS,
            "third_parties": third_parties,
            "by_type": list(by_type),
            "services": list(services),
        },
        topic="withdrawal.digest",
        dedup_key=f"withdrawal-digest:{today.isoformat()}",
    )


def access_package_released(withdrawal: WithdrawalRequest, *, expires_at: datetime) -> list[OutboxEmail]:
    """Tell the person their data package is ready on the request's page, until when (none without an
    address: staff post the printed package)."""
    with translation.override(withdrawal.language):
        expires = _moment(expires_at)
    return to_requester_if_possible(
        withdrawal,
        template="access_package_released",
        key="package-released",
        expires=expires,
        download_days=settings.ACCESS_PACKAGE_DOWNLOAD_DAYS,
    )


def access_package_link(withdrawal: WithdrawalRequest, *, link_id, link_path: str) -> OutboxEmail:
    """The one-time download link, to the request's address only: following it proves the person still
    holds it. It carries nothing else of the request."""
    return _about(
        withdrawal,
        key=f"package-link:{link_id}",
        to=withdrawal.email,
        template="access_package_link",
        language=withdrawal.language,
        context={
            "reference": withdrawal.reference,
            "link_path": link_path,
            "minutes": settings.ACCESS_PACKAGE_LINK_MINUTES,
        },
        user=withdrawal.requester,
    )
