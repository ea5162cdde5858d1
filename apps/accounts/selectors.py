"""Reads of accounts: who is in the user agreement, and whose data is due for erasure."""

from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from .models import PurposeWithdrawal


def users_in_agreement(*, blocked: bool = False) -> QuerySet:
    """Users whose agreement is in force: they get the policy's notices and count for its acceptance.

    Not those whose agreement ended, who withdrew consent, whose data was erased or who were deactivated,
    nor those whose data is blocked (a granted blocking request: nothing is processed until it is lifted),
    unless `blocked` is true (a notice the law owes every person, such as that of a breach of their data).
    """
    User = get_user_model()
    users = User.objects.filter(
        agreement_status=User.AgreementStatus.ACTIVE,
        consent_withdrawn_at__isnull=True,
        erased_at__isnull=True,
        is_active=True,
    )
    return users if blocked else users.filter(blocked_at__isnull=True)


def user_id_ranges(*, size: int, after: int = 0) -> Iterator[tuple[int, int]]:
    """Yield (lo, hi) ranges of `size` ids covering every user id above `after` (lo < id <= hi).

    Set-based jobs over all users (the sweep, the announcement, the reminders) take one range per statement
    and transaction, so a crash loses at most the range in flight.
    """
    bounds = get_user_model().objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["high"] is None:
        return
    lo = max(after, bounds["low"] - 1)
    while lo < bounds["high"]:
        yield lo, lo + size
        lo += size


def retention_cutoff(*, now: datetime | None = None, years: int | None = None) -> datetime:
    """Return the moment before which an ended agreement's data must be erased."""
    now = now or timezone.now()
    years = settings.RETENTION_YEARS if years is None else years
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February in a year that has none
        return now.replace(year=now.year - years, day=28)


def users_due_for_erasure(*, now: datetime | None = None) -> QuerySet:
    """Users whose agreement ended more than RETENTION_YEARS ago and whose data is still there.

    Not those whose data is blocked: blocking suspends erasure too, until it is lifted (Law on Personal Data,
    Art. 1: blocking is the temporary stop of collection, use, change, depersonalisation and destruction).
    """
    User = get_user_model()
    return User.objects.filter(
        agreement_status=User.AgreementStatus.ENDED,
        agreement_ended_at__lt=retention_cutoff(now=now),
        erased_at__isnull=True,
        blocked_at__isnull=True,
    )


def purposes_withdrawn(*, user_ids: list[int]) -> dict[int, list]:
    """Return {user id: [PurposeWithdrawal, ...]} for these users, oldest first, in one query."""
    found: dict[int, list] = {user_id: [] for user_id in user_ids}
    for row in PurposeWithdrawal.objects.filter(user_id__in=list(user_ids)).order_by("withdrawn_at", "id"):
        found[row.user_id].append(row)
    return found
