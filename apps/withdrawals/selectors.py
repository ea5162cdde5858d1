"""Reads of withdrawal requests: links, due dates, what the requester may see, staff lists."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.notifications.models import OutboxEmail

from . import tokens, working_days
from .models import TimelineEntry, WithdrawalRequest


def withdrawal_status_path(withdrawal: WithdrawalRequest) -> str:
    return reverse("withdrawals:status", args=[tokens.status_token_make(withdrawal.public_id)])


def withdrawal_confirm_path(withdrawal: WithdrawalRequest) -> str:
    return reverse("withdrawals:confirm", args=[tokens.confirm_token_make(withdrawal.public_id)])


def withdrawal_admin_path(withdrawal: WithdrawalRequest) -> str:
    return reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])


def withdrawal_email_key_prefix(withdrawal: WithdrawalRequest) -> str:
    """Return the start of the dedup key of every email about this request."""
    return f"withdrawal:{withdrawal.pk}:"


def withdrawal_request_by_status_token(token: str) -> WithdrawalRequest | None:
    """Return the registered request a private status link points to, or None."""
    try:
        public_id = tokens.status_token_read(token)
    except tokens.LinkInvalid:
        return None
    return (
        WithdrawalRequest.objects.exclude(status=WithdrawalRequest.Status.UNVERIFIED)
        .filter(public_id=public_id)
        .first()
    )


def withdrawal_request_by_public_id(public_id) -> WithdrawalRequest | None:
    return WithdrawalRequest.objects.filter(public_id=public_id).first()


def withdrawal_timeline_for_requester(withdrawal: WithdrawalRequest) -> QuerySet[TimelineEntry]:
    """Return the entries the requester may see; internal notes and staff-only events never appear."""
    return withdrawal.timeline.filter(visible_to_requester=True).exclude(kind=TimelineEntry.Kind.NOTE)


def withdrawal_last_day(withdrawal: WithdrawalRequest) -> date | None:
    """Return the last working day of the term (the term ends at 24:00 Almaty of that day)."""
    return working_days.last_counted_day(withdrawal.due_at) if withdrawal.due_at else None


def withdrawal_due_preview(*, now: datetime | None = None) -> date:
    """Return the last day of the term of a request registered now (for the form's explanation)."""
    due_at = working_days.due_at_after(now or timezone.now(), settings.WITHDRAWAL_DUE_WORKING_DAYS)
    return working_days.last_counted_day(due_at)


@dataclass(frozen=True)
class DueState:
    """Where a request stands against its legal term."""

    days_left: int | None
    overdue: bool
    due_soon: bool
    paused: bool


def withdrawal_due_state(withdrawal: WithdrawalRequest, *, now: datetime | None = None) -> DueState:
    now = now or timezone.now()
    if withdrawal.due_at is None or withdrawal.status not in WithdrawalRequest.OPEN_STATUSES:
        return DueState(days_left=None, overdue=False, due_soon=False, paused=False)
    if withdrawal.status == WithdrawalRequest.Status.AWAITING_INFORMATION:
        return DueState(days_left=None, overdue=False, due_soon=False, paused=True)
    left = working_days.working_days_left(withdrawal.due_at, now)
    overdue = now >= withdrawal.due_at
    return DueState(
        days_left=left,
        overdue=overdue,
        due_soon=not overdue and left <= settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS,
        paused=False,
    )


def withdrawal_requests_overdue(*, now: datetime | None = None) -> QuerySet[WithdrawalRequest]:
    """Return requests whose clock runs and whose term has passed."""
    now = now or timezone.now()
    return WithdrawalRequest.objects.filter(
        status__in=WithdrawalRequest.CLOCK_RUNNING_STATUSES, due_at__lte=now
    ).order_by("due_at", "id")


def withdrawal_requests_due_soon(*, now: datetime | None = None) -> QuerySet[WithdrawalRequest]:
    """Return requests with at most WITHDRAWAL_DUE_SOON_WORKING_DAYS working days left."""
    now = now or timezone.now()
    cutoff = working_days.due_soon_cutoff(now, settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS)
    return WithdrawalRequest.objects.filter(
        status__in=WithdrawalRequest.CLOCK_RUNNING_STATUSES, due_at__gt=now, due_at__lte=cutoff
    ).order_by("due_at", "id")


def withdrawal_request_emails(withdrawal: WithdrawalRequest) -> QuerySet[OutboxEmail]:
    """Return every outbox email about this request, newest first."""
    return OutboxEmail.objects.filter(dedup_key__startswith=withdrawal_email_key_prefix(withdrawal)).order_by(
        "-id"
    )


def withdrawal_requests_of_user(user) -> QuerySet[WithdrawalRequest]:
    """Return the registered requests a signed-in user made."""
    return (
        WithdrawalRequest.objects.filter(requester=user)
        .exclude(status=WithdrawalRequest.Status.UNVERIFIED)
        .order_by("-verified_at", "-id")
    )


def my_privacy_section(request) -> dict | None:
    """Return the "My privacy" section listing the signed-in user's withdrawal requests."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    rows = [
        {
            "withdrawal": withdrawal,
            "status_path": withdrawal_status_path(withdrawal),
            "last_day": withdrawal_last_day(withdrawal),
        }
        for withdrawal in withdrawal_requests_of_user(user)[:50]
    ]
    return {"template": "withdrawals/my_privacy_section.html", "context": {"withdrawal_rows": rows}}


def unverified_purge_cutoff(*, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.WITHDRAWAL_UNVERIFIED_DELETE_DAYS)
