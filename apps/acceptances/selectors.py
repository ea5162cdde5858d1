"""Reads of acceptances: what a user accepted, who is still pending, counts for staff."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import TruncDate
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import PurposeWithdrawal
from apps.accounts.selectors import purposes_withdrawn, users_in_agreement
from apps.policies.models import PolicyVersion
from apps.policies.selectors import (
    CurrentPolicy,
    policy_current_cached,
    policy_text_for,
    policy_version_current,
)

from .models import Acceptance

SUMMARY_CACHE_KEY = "acceptances:summary:v1:{version_id}:{language}"


@dataclass(frozen=True)
class VersionSummary:
    """The bits of a version's text a banner shows; published texts never change, so it caches forever."""

    language: str
    title: str
    summary: str
    text_sha256: str


def policy_current() -> CurrentPolicy | None:
    """Return the version in force (cached); what sign-up and the banner offer for acceptance."""
    return policy_current_cached()


def policy_summary_cached(*, version_id: int, language: str) -> VersionSummary | None:
    """Return the title, summary and text hash of a version in `language` (falling back to Kazakh)."""
    key = SUMMARY_CACHE_KEY.format(version_id=version_id, language=language)
    value = cache.get(key)
    if value is None:
        version = PolicyVersion.objects.filter(pk=version_id).first()
        text = policy_text_for(version=version, language=language)[0] if version else None
        value = (
            VersionSummary(
                language=text.language, title=text.title, summary=text.summary, text_sha256=text.body_sha256
            )
            if text
            else False
        )
        cache.set(key, value, timeout=60 * 60 * 24)
    return value or None


def acceptance_get(*, user_id: int, version_id: int) -> Acceptance | None:
    return Acceptance.objects.filter(user_id=user_id, version_id=version_id).first()


def acceptance_exists(*, user_id: int, version_id: int) -> bool:
    return Acceptance.objects.filter(user_id=user_id, version_id=version_id).exists()


def acceptance_history(*, user) -> QuerySet[Acceptance]:
    """Return the user's acceptances, newest version first, with their versions."""
    return (
        Acceptance.objects.filter(user=user)
        .select_related("version", "use_report__token")
        .order_by("-version__number")
    )


def users_pending_acceptance(*, version_id: int) -> QuerySet:
    """Return the users in the agreement who have not accepted the version (a queryset, never a list)."""
    accepted = Acceptance.objects.filter(user_id=OuterRef("pk"), version_id=version_id)
    return users_in_agreement().filter(~Exists(accepted))


def acceptance_counts(*, version_ids: list[int]) -> dict[int, dict[str, int]]:
    """Return {version_id: {method: count}} from the (version, method) index."""
    counts: dict[int, dict[str, int]] = {vid: {m: 0 for m in Acceptance.Method.values} for vid in version_ids}
    rows = (
        Acceptance.objects.filter(version_id__in=version_ids)
        .values("version_id", "method")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["version_id"]][row["method"]] = row["n"]
    return counts


def acceptance_summary(*, limit: int = 10) -> list[dict]:
    """Per published version: counts by method; pending only for the version in force."""
    versions = list(
        PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-number")[:limit]
    )
    counts = acceptance_counts(version_ids=[v.pk for v in versions])
    rows = []
    for index, version in enumerate(versions):
        row = {"version": version, **counts[version.pk]}
        row["total"] = sum(counts[version.pk].values())
        row["pending"] = users_pending_acceptance(version_id=version.pk).count() if index == 0 else None
        rows.append(row)
    return rows


@dataclass(frozen=True)
class WithdrawnPurpose:
    purpose: str
    withdrawn_at: datetime
    reference: str


@dataclass(frozen=True)
class ConsentStatus:
    user_id: int
    current: CurrentPolicy | None
    acceptance: Acceptance | None
    consent_withdrawn_at: datetime | None
    agreement_status: str
    purposes_withdrawn: tuple[WithdrawnPurpose, ...] = ()
    erased_at: datetime | None = None
    blocked_at: datetime | None = None
    automated_processing_objected_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.acceptance is not None

    @property
    def implicit_acceptance_enabled(self) -> bool:
        return bool(
            self.current and self.current.implicit_acceptance_at and settings.IMPLICIT_ACCEPTANCE_DAYS
        )

    @property
    def all_purposes_withdrawn(self) -> bool:
        return self.consent_withdrawn_at is not None


def consent_statuses(*, users) -> dict[int, ConsentStatus]:
    """Return {user id: ConsentStatus} for these users: three queries, however many users."""
    current = policy_current_cached()
    users = list(users)
    ids = [user.pk for user in users]
    accepted = (
        {a.user_id: a for a in Acceptance.objects.filter(user_id__in=ids, version_id=current.id)}
        if current and ids
        else {}
    )
    withdrawn = purposes_withdrawn(user_ids=ids) if ids else {}
    return {
        user.pk: ConsentStatus(
            user_id=user.pk,
            current=current,
            acceptance=accepted.get(user.pk),
            consent_withdrawn_at=user.consent_withdrawn_at,
            agreement_status=user.agreement_status,
            purposes_withdrawn=tuple(
                WithdrawnPurpose(purpose=row.purpose, withdrawn_at=row.withdrawn_at, reference=row.reference)
                for row in withdrawn.get(user.pk, [])
            ),
            erased_at=user.erased_at,
            blocked_at=user.blocked_at,
            automated_processing_objected_at=user.automated_processing_objected_at,
        )
        for user in users
    }


def consent_status(*, user) -> ConsentStatus:
    """Return the user's position towards the version in force, and the purposes they withdrew."""
    return consent_statuses(users=[user])[user.pk]


def consent_status_data(status: ConsentStatus) -> dict:
    """Return the status as the API's ConsentStatusOut and the webhooks' `consent` show it."""
    current = status.current
    acceptance = status.acceptance
    return {
        "user_id": status.user_id,
        "current_version": (
            {
                "number": current.number,
                "published_at": current.published_at,
                "implicit_acceptance_at": current.implicit_acceptance_at,
            }
            if current
            else None
        ),
        "accepted": status.accepted,
        "acceptance": (
            {
                "id": acceptance.pk,
                "version": current.number,
                "method": acceptance.method,
                "channel": acceptance.channel,
                "accepted_at": acceptance.accepted_at,
                "used_at": acceptance.used_at,
                "text_sha256": acceptance.text_sha256,
                "language": acceptance.language,
                "email_verified": acceptance.email_verified,
            }
            if acceptance and current
            else None
        ),
        "deadline": current.implicit_acceptance_at if current else None,
        "implicit_acceptance_enabled": status.implicit_acceptance_enabled,
        "consent_withdrawn_at": status.consent_withdrawn_at,
        "agreement_status": status.agreement_status,
        "all_purposes_withdrawn": status.all_purposes_withdrawn,
        "purposes_withdrawn": [
            {"purpose": item.purpose, "withdrawn_at": item.withdrawn_at, "reference": item.reference}
            for item in status.purposes_withdrawn
        ],
        "erased_at": status.erased_at,
        "blocked_at": status.blocked_at,
        "automated_processing_objected_at": status.automated_processing_objected_at,
    }


def purpose_labels(codes: list[str]) -> list[str]:
    """Return the names of these purposes of processing (CONSENT_PURPOSES) in the active language."""
    labels = dict(import_string(settings.CONSENT_PURPOSES).choices)
    labels[PurposeWithdrawal.ALL] = _("All processing")
    return [str(labels.get(code, code)) for code in codes]


# --- admin dashboard -------------------------------------------------------------------------------

CHART_WIDTH = 600
CHART_HEIGHT = 120
CHART_MAX_DAYS = 366


def acceptances_per_day(*, version: PolicyVersion, today: date | None = None) -> list[tuple[date, int]]:
    """Return (day, acceptances) for every Almaty day from the publication to today, zeros included.

    One grouped query; the days are filled in here, so the work is per day, never per row. At most the
    last CHART_MAX_DAYS days.
    """
    today = today or timezone.localdate()
    first = timezone.localtime(version.published_at).date() if version.published_at else today
    first = max(first, today - timedelta(days=CHART_MAX_DAYS - 1))
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = (
        Acceptance.objects.filter(version_id=version.pk, accepted_at__gte=start)
        .annotate(day=TruncDate("accepted_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["day"]: row["n"] for row in rows}
    days = (today - first).days + 1
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(max(days, 1))
    ]


def acceptance_chart_bars(*, per_day: list[tuple[date, int]], url) -> dict:
    """Lay out an SVG bar chart (coordinates in a viewBox) of the acceptances per day."""
    peak = max((n for _day, n in per_day), default=0)
    slot = CHART_WIDTH / max(len(per_day), 1)
    bars = []
    for index, (day, n) in enumerate(per_day):
        height = round(CHART_HEIGHT * n / peak, 2) if peak else 0
        bars.append(
            {
                "day": day,
                "count": n,
                "x": round(index * slot + slot * 0.1, 2),
                "y": round(CHART_HEIGHT - height, 2),
                "width": round(max(slot * 0.8, 0.5), 2),
                "height": height,
                "url": url(day),
            }
        )
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "peak": peak, "bars": bars}


def _acceptance_list(**params) -> str:
    query = QueryDict(mutable=True)
    query.update(params)
    return reverse("admin:acceptances_acceptance_changelist") + "?" + query.urlencode()


def admin_dashboard_block(request) -> dict | None:
    """Acceptance of the version in force on the admin index, for staff who may open the acceptance list."""
    if not request.user.has_perm("acceptances.view_acceptance"):
        return None
    version = policy_version_current()
    if version is None:
        return {"template": "acceptances/admin/dashboard_block.html", "context": {"version": None}}
    counts = acceptance_counts(version_ids=[version.pk])[version.pk]
    labels = dict(Acceptance.Method.choices)
    show_pending = request.user.has_perm(f"{get_user_model()._meta.app_label}.view_user")

    def day_url(day: date) -> str:
        start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()))
        return _acceptance_list(
            version__id__exact=version.pk, accepted_at__gte=start.isoformat(), accepted_at__lt=end.isoformat()
        )

    methods = [
        Acceptance.Method.EXPLICIT,
        Acceptance.Method.IMPLICIT,
        Acceptance.Method.SIGNUP,
        Acceptance.Method.API,
    ]
    return {
        "template": "acceptances/admin/dashboard_block.html",
        "context": {
            "version": version,
            "methods": [
                {
                    "method": method,
                    "label": labels[method],
                    "count": counts[method],
                    "url": _acceptance_list(version__id__exact=version.pk, method__exact=method),
                }
                for method in methods
            ],
            "total": sum(counts.values()),
            "total_url": _acceptance_list(version__id__exact=version.pk),
            "show_pending": show_pending,
            "pending": users_pending_acceptance(version_id=version.pk).count() if show_pending else None,
            "pending_url": reverse(
                f"admin:{get_user_model()._meta.app_label}_{get_user_model()._meta.model_name}_changelist"
            )
            + f"?pending_version={version.pk}",
            "chart": acceptance_chart_bars(per_day=acceptances_per_day(version=version), url=day_url),
        },
    }
