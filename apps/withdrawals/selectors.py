"""Reads of withdrawal requests: links, due dates, what the requester may see, staff lists."""

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, Exists, F, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from apps.accounts.selectors import retention_cutoff
from apps.calendars import working_days
from apps.connectors.models import ServiceCall
from apps.connectors.selectors import service_calls_of_request, service_calls_unanswered
from apps.notifications.models import OutboxEmail
from apps.notifications.selectors import outbox_emails_about
from apps.notifications.services import ERASED_EMAIL

from . import tokens
from .models import (
    AccessPackage,
    AccessPackageLink,
    ApplicationScan,
    RequestType,
    ThirdPartyNotice,
    TimelineEntry,
    WithdrawalRequest,
)


def _namespace(request_type: str) -> str:
    """Return the URL namespace of a type's pages: a withdrawal keeps /privacy/withdraw/, every other type
    lives under /privacy/requests/. Both serve any request's links, so no link ever breaks."""
    return "withdrawals" if request_type == RequestType.WITHDRAWAL else "requests"


def request_form_path(request_type: str) -> str:
    """Return the path of the form that files a request of this type."""
    if request_type == RequestType.WITHDRAWAL:
        return reverse("withdrawals:form")
    return reverse("requests:form", args=[request_type])


def withdrawal_status_path(withdrawal: WithdrawalRequest) -> str:
    token = tokens.status_token_make(withdrawal.public_id)
    return reverse(f"{_namespace(withdrawal.request_type)}:status", args=[token])


def withdrawal_confirm_path(withdrawal: WithdrawalRequest) -> str:
    token = tokens.confirm_token_make(withdrawal.public_id)
    return reverse(f"{_namespace(withdrawal.request_type)}:confirm", args=[token])


def withdrawal_request_paths(withdrawal: WithdrawalRequest, token: str) -> dict[str, str]:
    """Return the paths of the request's status page, its answer form and its cancel page, for `token`."""
    namespace = _namespace(withdrawal.request_type)
    return {
        name: reverse(f"{namespace}:{name}", kwargs={"token": token})
        for name in ("status", "answer", "cancel")
    }


def withdrawal_admin_path(withdrawal: WithdrawalRequest) -> str:
    return reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])


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


TERM_SETTINGS = {
    RequestType.WITHDRAWAL: "WITHDRAWAL_DUE_WORKING_DAYS",
    RequestType.ACCESS: "ACCESS_DUE_WORKING_DAYS",
    RequestType.CORRECTION: "CORRECTION_DUE_WORKING_DAYS",
    RequestType.BLOCKING: "BLOCKING_DUE_WORKING_DAYS",
    RequestType.DESTRUCTION: "DESTRUCTION_DUE_WORKING_DAYS",
    RequestType.OBJECTION: "OBJECTION_DUE_WORKING_DAYS",
}


def term_working_days(request_type: str) -> int:
    """Return the statutory term of a type of request, in working days (from settings)."""
    return getattr(settings, TERM_SETTINGS[request_type])


def request_types_offered(*, now: datetime | None = None) -> list[dict]:
    """Return every type of request a person may file, in the order the entry page asks about them, each
    with its term in working days, the last day of that term for a request registered now, and its form."""
    order = (
        RequestType.ACCESS,
        RequestType.CORRECTION,
        RequestType.BLOCKING,
        RequestType.DESTRUCTION,
        RequestType.OBJECTION,
        RequestType.WITHDRAWAL,
    )
    now = now or timezone.now()
    return [
        {
            "type": request_type,
            "label": RequestType(request_type).label,
            "days": term_working_days(request_type),
            "last_day": withdrawal_due_preview(now=now, request_type=request_type),
            "path": request_form_path(request_type),
        }
        for request_type in order
    ]


def withdrawal_last_day(withdrawal: WithdrawalRequest) -> date | None:
    """Return the last working day of the term (the term ends at 24:00 Almaty of that day)."""
    return working_days.last_counted_day(withdrawal.due_at) if withdrawal.due_at else None


def withdrawal_due_preview(
    *, now: datetime | None = None, request_type: str = RequestType.WITHDRAWAL
) -> date:
    """Return the last day of the term of a request registered now (for the form's explanation)."""
    due_at = working_days.due_at_after(now or timezone.now(), term_working_days(request_type))
    return working_days.last_counted_day(due_at)


@dataclass(frozen=True)
class DueState:
    """Where a request stands against its legal term, which runs while we wait for the requester too."""

    days_left: int | None
    overdue: bool
    due_soon: bool
    waiting: bool

    @property
    def wait_runs_into_due(self) -> bool:
        """Whether we wait for the requester while the term is nearly over or over."""
        return self.waiting and (self.overdue or self.due_soon)


def withdrawal_due_state(withdrawal: WithdrawalRequest, *, now: datetime | None = None) -> DueState:
    now = now or timezone.now()
    if withdrawal.due_at is None or withdrawal.status not in WithdrawalRequest.OPEN_STATUSES:
        return DueState(days_left=None, overdue=False, due_soon=False, waiting=False)
    # The term starts the working day after the application arrived: on that day itself, all of it is left.
    left = min(
        working_days.working_days_left(withdrawal.due_at, now), term_working_days(withdrawal.request_type)
    )
    overdue = now >= withdrawal.due_at
    return DueState(
        days_left=left,
        overdue=overdue,
        due_soon=not overdue and left <= settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS,
        waiting=withdrawal.status == WithdrawalRequest.Status.AWAITING_INFORMATION,
    )


def withdrawal_requests_overdue(*, now: datetime | None = None) -> QuerySet[WithdrawalRequest]:
    """Return open requests whose term has passed, waiting for the requester or not."""
    now = now or timezone.now()
    return WithdrawalRequest.objects.filter(
        status__in=WithdrawalRequest.OPEN_STATUSES, due_at__lte=now
    ).order_by("due_at", "id")


def withdrawal_requests_due_soon(*, now: datetime | None = None) -> QuerySet[WithdrawalRequest]:
    """Return open requests with at most WITHDRAWAL_DUE_SOON_WORKING_DAYS working days left."""
    now = now or timezone.now()
    cutoff = working_days.due_soon_cutoff(now, settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS)
    return WithdrawalRequest.objects.filter(
        status__in=WithdrawalRequest.OPEN_STATUSES, due_at__gt=now, due_at__lte=cutoff
    ).order_by("due_at", "id")


def withdrawal_requests_waiting_near_due(*, now: datetime | None = None) -> QuerySet[WithdrawalRequest]:
    """Return requests waiting for the requester whose term is over or has at most
    WITHDRAWAL_DUE_SOON_WORKING_DAYS working days left: the wait runs into the due date."""
    now = now or timezone.now()
    cutoff = working_days.due_soon_cutoff(now, settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS)
    return WithdrawalRequest.objects.filter(
        status=WithdrawalRequest.Status.AWAITING_INFORMATION, due_at__lte=cutoff
    ).order_by("due_at", "id")


def withdrawal_third_party_notices(
    withdrawal: WithdrawalRequest, *, now: datetime | None = None
) -> list[dict]:
    """Return the request's notices to third parties, each with whether its confirmation is overdue (the
    third parties must stop within the request's own term, Art. 8(7))."""
    now = now or timezone.now()
    return [
        {"notice": notice, "overdue": notice.confirmed_at is None and withdrawal.due_at <= now}
        for notice in withdrawal.third_party_notices.select_related("third_party", "confirmed_by")
    ]


def withdrawal_service_calls(withdrawal: WithdrawalRequest) -> list[ServiceCall]:
    """Return the request's calls to connected services, with their service, by action then name."""
    return service_calls_of_request(withdrawal.pk) if withdrawal.pk else []


def withdrawal_requests_services_unanswered(*, now: datetime | None = None) -> list[int]:
    """Return the ids of the requests with a connected service's call still unanswered whose term is over
    or ends within SERVICE_CALL_FLAG_HOURS_BEFORE_DUE hours."""
    return sorted(
        set(service_calls_unanswered(now=now).order_by().values_list("request_id", flat=True).distinct())
    )


def withdrawal_account_proven(withdrawal: WithdrawalRequest):
    """Return the account a request filed without one concerns: the account whose holder confirmed the
    same address the requester proved with the emailed link; None otherwise (an address typed by staff
    from a letter proves nothing, and an erased or unconfirmed account is nobody's to end)."""
    if not withdrawal.requester_email_verified or not withdrawal.email:
        return None
    return (
        get_user_model()
        .objects.filter(
            email__iexact=withdrawal.email, email_verified_at__isnull=False, erased_at__isnull=True
        )
        .first()
    )


def withdrawal_account(withdrawal: WithdrawalRequest):
    """Return the account a request's effects apply to: the one it was filed from, or the one whose holder
    confirmed the address the requester proved; None when there is none or its data is erased already."""
    user = withdrawal.requester or withdrawal_account_proven(withdrawal)
    return user if user is not None and user.erased_at is None else None


def withdrawal_unblock_allowed(withdrawal: WithdrawalRequest) -> bool:
    """Whether the request is a granted blocking whose blocking has not been lifted yet."""
    return (
        withdrawal.request_type == RequestType.BLOCKING
        and withdrawal.status == WithdrawalRequest.Status.GRANTED
        and not withdrawal.timeline.filter(kind=TimelineEntry.Kind.UNBLOCKED).exists()
    )


def withdrawal_scan(withdrawal: WithdrawalRequest) -> ApplicationScan | None:
    """Return the scan of the application (its metadata; the content is read only when it is opened)."""
    return ApplicationScan.objects.filter(request=withdrawal).defer("data").first()


def third_party_notices_unconfirmed() -> QuerySet[ThirdPartyNotice]:
    """Return the notices to third parties nobody has recorded a confirmation for, oldest first."""
    return (
        ThirdPartyNotice.objects.filter(confirmed_at__isnull=True)
        .select_related("request", "third_party")
        .order_by("sent_at", "id")
    )


def withdrawal_request_emails(withdrawal: WithdrawalRequest) -> QuerySet[OutboxEmail]:
    """Return every outbox email about this request, newest first."""
    return outbox_emails_about(topic="withdrawal", object_id=withdrawal.pk)


def withdrawal_requests_of_user(user) -> QuerySet[WithdrawalRequest]:
    """Return the registered requests the user filed signed in, or filed from the account's address after
    confirming it; never a request the account was linked to without either (as confirmation once linked
    a visitor's request to any account with the same address)."""
    filed_signed_in = Exists(
        TimelineEntry.objects.filter(request=OuterRef("pk"), kind=TimelineEntry.Kind.SUBMITTED, actor=user)
    )
    theirs = Q(filed_signed_in)
    if user.email_verified_at is not None:
        theirs |= Q(created_at__gte=user.email_verified_at)
    return (
        WithdrawalRequest.objects.filter(requester=user)
        .filter(theirs)
        .exclude(status=WithdrawalRequest.Status.UNVERIFIED)
        .order_by("-verified_at", "-id")
    )


def my_privacy_section(request) -> dict | None:
    """Return the "My privacy" section listing the signed-in user's requests of every type."""
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
    return {
        "template": "withdrawals/my_privacy_section.html",
        "context": {"account": user, "withdrawal_rows": rows, "requests_path": reverse("requests:start")},
    }


def unverified_purge_cutoff(*, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.WITHDRAWAL_UNVERIFIED_DELETE_DAYS)


# --- admin dashboard -------------------------------------------------------------------------------

DASHBOARD_DECIDED_DAYS = 90


class Median(Aggregate):
    """PostgreSQL's continuous median of an interval."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass(frozen=True)
class RequestFigures:
    open_by_status: dict[str, int]
    overdue: int
    waiting_near_due: int
    decided: int
    median_days_to_decide: float | None
    third_parties_unconfirmed: int
    open_by_type: dict[str, int] = field(default_factory=dict)
    overdue_by_type: dict[str, int] = field(default_factory=dict)
    services_unanswered: int = 0


def withdrawal_dashboard_figures(*, now: datetime | None = None) -> RequestFigures:
    """Open requests by status and by type, overdue ones (by type too), the requests whose connected services
    have not answered near or past the due date, and the median time to decide over the last 90 days.

    Two aggregate queries: one over the open requests (status index), one over the recent decisions
    (decided_at index); no rows are loaded; and the calls not answered near a due date.
    """
    now = now or timezone.now()
    Status = WithdrawalRequest.Status
    late = Q(due_at__lte=now)
    open_counts = WithdrawalRequest.objects.filter(status__in=WithdrawalRequest.OPEN_STATUSES).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in WithdrawalRequest.OPEN_STATUSES},
        **{f"type_{value}": Count("pk", filter=Q(request_type=value)) for value in RequestType.values},
        **{f"late_{value}": Count("pk", filter=Q(request_type=value) & late) for value in RequestType.values},
        overdue=Count("pk", filter=Q(status__in=WithdrawalRequest.OPEN_STATUSES, due_at__lte=now)),
        waiting_near_due=Count(
            "pk",
            filter=Q(
                status=Status.AWAITING_INFORMATION,
                due_at__lte=working_days.due_soon_cutoff(now, settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS),
            ),
        ),
    )
    recent = WithdrawalRequest.objects.filter(
        decided_at__gte=now - timedelta(days=DASHBOARD_DECIDED_DAYS),
        decided_at__lte=now,
        status__in=WithdrawalRequest.DECIDED_STATUSES,
    )
    taken = F("decided_at") - F("received_at")
    if connection.vendor == "postgresql":
        decided = recent.aggregate(count=Count("pk"), median=Median(taken))
    else:  # the embedded development database has no PERCENTILE_CONT
        durations = list(recent.annotate(taken=taken).values_list("taken", flat=True))
        decided = {"count": len(durations), "median": statistics.median(durations) if durations else None}
    median = decided["median"]
    return RequestFigures(
        open_by_status={
            str(status): open_counts[str(status)]
            for status in (Status.SUBMITTED, Status.IN_REVIEW, Status.AWAITING_INFORMATION)
        },
        overdue=open_counts["overdue"],
        waiting_near_due=open_counts["waiting_near_due"],
        decided=decided["count"],
        median_days_to_decide=round(median.total_seconds() / 86400, 1) if median is not None else None,
        third_parties_unconfirmed=ThirdPartyNotice.objects.filter(confirmed_at__isnull=True).count(),
        open_by_type={value: open_counts[f"type_{value}"] for value in RequestType.values},
        overdue_by_type={value: open_counts[f"late_{value}"] for value in RequestType.values},
        services_unanswered=len(withdrawal_requests_services_unanswered(now=now)),
    )


def _changelist(**params) -> str:
    query = QueryDict(mutable=True)
    query.update(params)
    return reverse("admin:withdrawals_withdrawalrequest_changelist") + "?" + query.urlencode()


def admin_dashboard_block(request) -> dict | None:
    """The withdrawal figures on the admin index, for staff who may open the request list."""
    if not request.user.has_perm("withdrawals.view_withdrawalrequest"):
        return None
    now = timezone.now().replace(microsecond=0)
    figures = withdrawal_dashboard_figures(now=now)
    labels = dict(WithdrawalRequest.Status.choices)
    since = now - timedelta(days=DASHBOARD_DECIDED_DAYS)
    return {
        "template": "withdrawals/admin/dashboard_block.html",
        "context": {
            "statuses": [
                {
                    "status": status,
                    "label": labels[status],
                    "count": count,
                    "url": _changelist(status__exact=status),
                }
                for status, count in figures.open_by_status.items()
            ],
            "overdue": figures.overdue,
            "overdue_url": _changelist(due="overdue"),
            "waiting_near_due": figures.waiting_near_due,
            "waiting_near_due_url": _changelist(due="waiting_near_due"),
            "third_parties_unconfirmed": figures.third_parties_unconfirmed,
            "third_parties_unconfirmed_url": _changelist(third_parties="unconfirmed"),
            "types": [
                {
                    "type": value,
                    "label": label,
                    "count": figures.open_by_type[value],
                    "overdue": figures.overdue_by_type[value],
                    "url": _changelist(
                        request_type__exact=value, status__in=",".join(WithdrawalRequest.OPEN_STATUSES)
                    ),
                }
                for value, label in RequestType.choices
            ],
            "services_unanswered": figures.services_unanswered,
            "services_unanswered_url": _changelist(services="unanswered"),
            "decided": figures.decided,
            "median_days": figures.median_days_to_decide,
            "decided_days": DASHBOARD_DECIDED_DAYS,
            "decided_url": _changelist(
                status__in=",".join(WithdrawalRequest.DECIDED_STATUSES), decided_at__gte=since.isoformat()
            ),
        },
    }


def withdrawal_visitor_requests_due_for_erasure(*, now: datetime | None = None) -> QuerySet:
    """Requests filed without an account, decided or cancelled more than RETENTION_YEARS ago, whose personal
    data is still there (policy clause 2.4: a visitor's request has no agreement whose end starts the clock,
    so its closing does)."""
    cutoff = retention_cutoff(now=now)
    Status = WithdrawalRequest.Status
    closed_before = Q(status__in=WithdrawalRequest.DECIDED_STATUSES, decided_at__lt=cutoff) | Q(
        status=Status.CANCELLED, cancelled_at__lt=cutoff
    )
    return WithdrawalRequest.objects.filter(closed_before, requester__isnull=True).exclude(email=ERASED_EMAIL)


# --- the access package ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageState:
    """Where an access request's package stands: "waiting" (for the services), "built", "released" (the
    person may download it), "expired" (the download period is over) or "erased" (its content is gone)."""

    state: str
    answered: int
    total: int
    package: AccessPackage | None
    unanswered: tuple = ()

    @property
    def downloadable(self) -> bool:
        return self.state == "released"


def access_package_state(withdrawal: WithdrawalRequest, *, now: datetime | None = None) -> PackageState:
    """Return the state of the request's package and how many of its export calls are answered."""
    now = now or timezone.now()
    calls = [call for call in service_calls_of_request(withdrawal.pk) if call.action == "export"]
    answered = sum(1 for call in calls if call.is_final)
    package = AccessPackage.objects.filter(request=withdrawal).defer("document", "html").first()
    if package is None:
        state = "waiting"
    elif package.released_at is not None and now >= package.expires_at:
        state = "expired"
    elif package.erased_at is not None:
        state = "erased"
    elif package.released_at is not None:
        state = "released"
    else:
        state = "built"
    return PackageState(
        state=state,
        answered=answered,
        total=len(calls),
        package=package,
        unanswered=tuple(call for call in calls if not call.is_final),
    )


def access_package_link_path(link: AccessPackageLink) -> str:
    return reverse("requests:package_link", args=[tokens.package_link_token_make(link.pk)])
