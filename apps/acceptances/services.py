"""Writes of acceptance evidence: the button, sign-up, the API, continued use and its sweep."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import audit_event_record
from apps.policies.models import PolicyVersion
from apps.policies.selectors import policy_text_for, policy_version_current

from .models import Acceptance, Channel, ServiceToken, UseReport
from .selectors import users_pending_acceptance

logger = logging.getLogger(__name__)

USE_CACHE_KEY = "acceptances:use:{user_id}"
USER_AGENT_MAX = 500


class AcceptanceError(Exception):
    """The acceptance cannot be recorded; the message says why."""


class VersionNotCurrent(AcceptanceError):
    """Only the version in force can be accepted."""


def _clip(user_agent: str | None) -> str:
    return (user_agent or "")[:USER_AGENT_MAX]


def _shown_text(*, version: PolicyVersion, language: str, text_sha256: str = "") -> tuple[str, str]:
    """Return (language, sha256) of the text the user saw; a given hash must be one of the version's texts."""
    texts = list(version.texts.all())
    if text_sha256:
        for text in texts:
            if text.body_sha256 == text_sha256:
                return text.language, text.body_sha256
        raise AcceptanceError("The text hash does not belong to this version.")
    text, _fallback = policy_text_for(version=version, language=language)
    if text is None:
        return language, ""
    return text.language, text.body_sha256


def _current_or_refuse(version: PolicyVersion) -> None:
    current = policy_version_current()
    if not version.is_published or current is None or current.pk != version.pk:
        raise VersionNotCurrent(
            f"Version {version.number} is not the version in force"
            + (f" (version {current.number} is)." if current else ".")
        )


def _insert_once(
    *,
    user_id: int,
    version_id: int,
    method: str,
    channel: str,
    accepted_at: datetime,
    ip: str | None,
    user_agent: str,
    language: str,
    text_sha256: str,
) -> tuple[Acceptance, bool]:
    """INSERT ... ON CONFLICT DO NOTHING: racing requests and the sweep leave exactly one row."""
    table = Acceptance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (user_id, version_id, method, channel, accepted_at, recorded_at, ip, user_agent, language,
                 text_sha256, use_source)
            VALUES (%s, %s, %s, %s, %s, now(), %s, %s, %s, %s, '')
            ON CONFLICT (user_id, version_id) DO NOTHING
            RETURNING id
            """,  # noqa: S608 - the table name is ours, every value is a parameter
            [
                user_id,
                version_id,
                method,
                channel,
                accepted_at,
                ip or None,
                user_agent,
                language,
                text_sha256,
            ],
        )
        row = cursor.fetchone()
    if row:
        return Acceptance.objects.get(pk=row[0]), True
    return Acceptance.objects.get(user_id=user_id, version_id=version_id), False


def acceptance_record(
    *,
    user,
    version: PolicyVersion,
    method: str,
    channel: str,
    language: str,
    ip: str | None = None,
    user_agent: str = "",
    text_sha256: str = "",
    token: ServiceToken | None = None,
) -> tuple[Acceptance, bool]:
    """Record that `user` accepted `version` (the version in force); idempotent, audited once.

    Returns (acceptance, created). A second call, or a call racing the sweep, returns the existing row.
    """
    if method == Acceptance.Method.IMPLICIT:
        raise AcceptanceError("Implicit acceptances are recorded by the sweep only.")
    _current_or_refuse(version)
    text_language, sha = _shown_text(version=version, language=language, text_sha256=text_sha256)
    with transaction.atomic():
        acceptance, created = _insert_once(
            user_id=user.pk,
            version_id=version.pk,
            method=method,
            channel=channel,
            accepted_at=timezone.now(),
            ip=ip,
            user_agent=_clip(user_agent),
            language=text_language,
            text_sha256=sha,
        )
        if created:
            details = {"version": version.number, "method": method, "channel": channel}
            if token is not None:
                details["service"] = token.name
            audit_event_record(
                actor=user if method != Acceptance.Method.API else None,
                action="acceptance.record",
                target=acceptance,
                target_label=f"{user.email} v{version.number}",
                details=details,
                ip=ip,
            )
    return acceptance, created


def acceptance_record_explicit(
    *, user, version: PolicyVersion, language: str, ip: str | None, user_agent: str, text_sha256: str = ""
) -> tuple[Acceptance, bool]:
    """The user pressed Accept on the portal."""
    return acceptance_record(
        user=user,
        version=version,
        method=Acceptance.Method.EXPLICIT,
        channel=Channel.WEB,
        language=language,
        ip=ip,
        user_agent=user_agent,
        text_sha256=text_sha256,
    )


def acceptance_record_signup(
    *, user, version_number: int, language: str, ip: str | None, user_agent: str
) -> Acceptance:
    """Record the acceptance ticked on the sign-up form; call it in the transaction that creates the user."""
    version = PolicyVersion.objects.filter(
        number=version_number, status=PolicyVersion.Status.PUBLISHED
    ).first()
    if version is None:
        raise VersionNotCurrent(f"Version {version_number} is not published.")
    acceptance, _created = acceptance_record(
        user=user,
        version=version,
        method=Acceptance.Method.SIGNUP,
        channel=Channel.WEB,
        language=language,
        ip=ip,
        user_agent=user_agent,
    )
    return acceptance


def acceptance_record_api(
    *,
    user,
    version: PolicyVersion,
    channel: str,
    language: str,
    ip: str | None,
    user_agent: str,
    text_sha256: str,
    token: ServiceToken,
) -> tuple[Acceptance, bool]:
    """An app reported that the user pressed its Accept button."""
    if channel not in (Channel.APP, Channel.API):
        raise AcceptanceError("The channel must be app or api.")
    return acceptance_record(
        user=user,
        version=version,
        method=Acceptance.Method.API,
        channel=channel,
        language=language,
        ip=ip,
        user_agent=user_agent,
        text_sha256=text_sha256,
        token=token,
    )


# --- Continued use ------------------------------------------------------------------------------


def use_mark(*, user_id: int, now: datetime | None = None) -> bool:
    """Record a use of the portal at most once per USE_TRACKING_INTERVAL_SECONDS; True when written.

    The cache key is the throttle: while it lives no query is made.
    """
    key = USE_CACHE_KEY.format(user_id=user_id)
    if not cache.add(key, 1, timeout=max(settings.USE_TRACKING_INTERVAL_SECONDS, 1)):
        return False
    get_user_model().objects.filter(pk=user_id).update(last_used_at=now or timezone.now())
    return True


@dataclass(frozen=True)
class UseInput:
    user_id: int
    used_at: datetime
    channel: str


def use_reports_record(*, token: ServiceToken, uses: list[UseInput]) -> int:
    """Store a batch of uses reported by another service, all or none; a repeated report is kept once.

    Each report stays as the evidence (time, channel, service) of that use; the users' last use is raised
    too, in one statement.
    """
    rows = [UseReport(user_id=u.user_id, used_at=u.used_at, channel=u.channel, token=token) for u in uses]
    latest: dict[int, datetime] = {}
    for use in uses:
        if use.user_id not in latest or use.used_at > latest[use.user_id]:
            latest[use.user_id] = use.used_at
    with transaction.atomic():
        UseReport.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        if latest:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    UPDATE {get_user_model()._meta.db_table} AS u
                    SET last_used_at = GREATEST(u.last_used_at, v.used_at)
                    FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, used_at)
                    WHERE u.id = v.id AND (u.last_used_at IS NULL OR u.last_used_at < v.used_at)
                    """,  # noqa: S608 - the table name is ours
                    [list(latest), list(latest.values())],
                )
    return len(rows)


# --- The sweep: continued use after the deadline counts as acceptance (clause 1.2) ---------------

SWEEP_SQL = """
INSERT INTO {acceptance}
    (user_id, version_id, method, channel, accepted_at, recorded_at, ip, user_agent, language, text_sha256,
     used_at, use_source, use_report_id)
SELECT DISTINCT ON (e.user_id)
    e.user_id, %(version)s, 'implicit', e.channel, e.used_at, %(now)s, NULL, '',
    COALESCE(t.text_language, %(default_language)s), COALESCE(t.sha, %(default_sha)s),
    e.used_at, e.source, e.report_id
FROM (
    SELECT u.id AS user_id, u.language, u.last_used_at AS used_at, 'web' AS channel, 'web' AS source,
           NULL::bigint AS report_id
    FROM {user} u
    WHERE u.id >= %(lo)s AND u.id < %(hi)s
      AND u.last_used_at >= %(deadline)s AND u.last_used_at <= %(now)s
      AND {eligible}
    UNION ALL
    SELECT r.user_id, u.language, r.used_at, r.channel, LEFT('api:' || k.name, 120), r.id
    FROM {report} r
    JOIN {user} u ON u.id = r.user_id
    JOIN {token} k ON k.id = r.token_id
    WHERE r.user_id >= %(lo)s AND r.user_id < %(hi)s AND u.id >= %(lo)s AND u.id < %(hi)s
      AND r.used_at >= %(deadline)s AND r.used_at <= %(now)s
      AND {eligible}
) e
LEFT JOIN (VALUES {texts}) AS t(user_language, text_language, sha) ON t.user_language = e.language
WHERE NOT EXISTS (
    SELECT 1 FROM {acceptance} a
    WHERE a.user_id = e.user_id AND a.version_id = %(version)s AND a.user_id >= %(lo)s AND a.user_id < %(hi)s
)
ORDER BY e.user_id, e.used_at, e.report_id IS NULL
ON CONFLICT (user_id, version_id) DO NOTHING
"""
ELIGIBLE = (
    "u.agreement_status = 'active' AND u.consent_withdrawn_at IS NULL AND u.erased_at IS NULL AND u.is_active"
)


def _sweep_sql_and_params(version: PolicyVersion) -> tuple[str, dict]:
    languages = [code for code, _name in settings.LANGUAGES]
    values, params = [], {}
    for index, language in enumerate(languages):
        text, _fallback = policy_text_for(version=version, language=language)
        params[f"ul{index}"] = language
        params[f"tl{index}"] = text.language if text else language
        params[f"sha{index}"] = text.body_sha256 if text else ""
        values.append(f"(%(ul{index})s, %(tl{index})s, %(sha{index})s)")
    default_text, _ = policy_text_for(version=version, language=settings.LANGUAGE_CODE)
    params["default_language"] = default_text.language if default_text else settings.LANGUAGE_CODE
    params["default_sha"] = default_text.body_sha256 if default_text else ""
    sql = SWEEP_SQL.format(
        acceptance=Acceptance._meta.db_table,
        user=get_user_model()._meta.db_table,
        report=UseReport._meta.db_table,
        token=ServiceToken._meta.db_table,
        texts=", ".join(values),
        eligible=ELIGIBLE,
    )
    return sql, params


def implicit_acceptance_sweep(*, now: datetime | None = None, chunk_size: int | None = None) -> dict:
    """Turn every recorded use at or after the deadline of the version in force into an implicit acceptance.

    Set-based: one INSERT ... SELECT per range of user ids, idempotent, safe beside explicit accepts. The
    evidence is the earliest recorded use after the deadline: a reported use (with its channel and service)
    or the portal's last use; a last use raised by a report ties with that report, and the report wins.
    """
    now = now or timezone.now()
    if settings.IMPLICIT_ACCEPTANCE_DAYS <= 0:
        return {"status": "off", "created": 0}
    version = policy_version_current()
    if version is None or version.implicit_acceptance_at is None:
        return {"status": "no-deadline", "created": 0}
    if now < version.implicit_acceptance_at:
        return {"status": "before-deadline", "version": version.number, "created": 0}
    chunk_size = chunk_size or settings.IMPLICIT_SWEEP_CHUNK_SIZE
    sql, params = _sweep_sql_and_params(version)
    params.update(version=version.pk, deadline=version.implicit_acceptance_at, now=now)
    user_table = get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {user_table}")  # noqa: S608
        low, high = cursor.fetchone()
    created = 0
    if low is not None:
        for lo in range(low, high + 1, chunk_size):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, {**params, "lo": lo, "hi": lo + chunk_size})
                created += max(cursor.rowcount, 0)
    if created:
        audit_event_record(
            action="acceptance.implicit_sweep",
            target=version,
            details={"version": version.number, "created": created},
        )
    return {"status": "swept", "version": version.number, "created": created}


# --- Reminders ----------------------------------------------------------------------------------


def policy_reminders_send(*, now: datetime | None = None) -> dict:
    """A few days before the deadline, queue one reminder per user who has not accepted (deduplicated)."""
    now = now or timezone.now()
    days = settings.POLICY_REMINDER_DAYS_BEFORE
    version = policy_version_current()
    if days <= 0 or version is None or version.implicit_acceptance_at is None:
        return {"status": "off"}
    if not (version.implicit_acceptance_at - timedelta(days=days) <= now < version.implicit_acceptance_at):
        return {"status": "not-due", "version": version.number}
    from apps.policies.services import policy_reminder_queue

    result = policy_reminder_queue(
        version=version, user_ids_query=users_pending_acceptance(version_id=version.pk)
    )
    return {"status": "queued", "version": version.number, "result": result}


# --- Service tokens -----------------------------------------------------------------------------


def service_token_create(*, name: str, actor=None) -> tuple[ServiceToken, str]:
    """Create a token for a service and return it with the raw value, which is shown once and not stored."""
    raw = ServiceToken.generate()
    with transaction.atomic():
        token = ServiceToken(
            name=name.strip(),
            token_sha256=ServiceToken.hash(raw),
            token_prefix=raw[:10],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        token.full_clean()
        token.save()
        audit_event_record(actor=actor, action="service_token.create", target=token)
    return token, raw


def service_token_revoke(*, token: ServiceToken, actor=None) -> ServiceToken:
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_event_record(actor=actor, action="service_token.revoke", target=token)
    return token


def service_token_authenticate(*, raw: str) -> ServiceToken | None:
    """Return the active token with this value, noting its use at most once a minute."""
    if not raw or not raw.startswith(ServiceToken.PREFIX) or len(raw) > 200:
        return None
    token = ServiceToken.objects.filter(token_sha256=ServiceToken.hash(raw), revoked_at__isnull=True).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ServiceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def acceptance_personal_data_erase(*, user_ids: list[int], emails: list[str]) -> int:
    """Clear the IP address and user agent of these users' acceptances (retention erasure).

    The evidence trigger allows exactly this update; what was accepted, how and when stays.
    """
    return (
        Acceptance.objects.filter(user_id__in=user_ids)
        .exclude(ip__isnull=True, user_agent="")
        .update(ip=None, user_agent="")
    )


def acceptance_view_record(*, acceptance: Acceptance, actor, ip: str | None = None) -> None:
    """Record that a staff member opened a user's acceptance evidence (policy clause 3.4)."""
    audit_event_record(
        actor=actor,
        action="acceptance.view",
        target=acceptance,
        details={"user_id": acceptance.user_id},
        ip=ip,
    )
