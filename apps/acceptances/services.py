"""Writes of acceptance evidence: the button, sign-up, the API, continued use and its sweep."""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from apps.accounts.selectors import user_id_ranges, users_in_agreement
from apps.accounts.services import (
    consent_change_announce,
    user_last_use_record,
    user_last_uses_raise,
    user_signup,
)
from apps.audit.services import audit_event_record, audit_personal_data_erase
from apps.notifications.services import (
    outbox_fanout,
    webhook_deliveries_queue,
    webhook_delivery_build,
    webhook_endpoint_deliveries_update,
)
from apps.policies.models import PolicyVersion
from apps.policies.selectors import (
    REMINDER_TEMPLATE,
    REMINDER_TOPIC,
    implicit_acceptance_passed,
    policy_text_for,
    policy_version_current,
    policy_version_is_current,
)
from apps.policies.services import policy_email_contexts

from .models import Acceptance, Channel, ServiceToken, UseReport, WebhookEndpoint
from .selectors import consent_status_data, consent_statuses, users_pending_acceptance

# A person accepted the version in force (button, sign-up or an app); the implicit sweep's acceptances,
# recorded in bulk, are not announced: consent-status shows them.
ACCEPTANCE_RECORDED = "acceptance.recorded"

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
    if not policy_version_is_current(version=version):
        current = policy_version_current()
        raise VersionNotCurrent(
            f"Version {version.number} is not the version in force"
            + (f" (version {current.number} is)." if current else ".")
        )


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
        # Unique per user and version: racing requests and the sweep leave exactly one row.
        acceptance, created = Acceptance.objects.get_or_create(
            user_id=user.pk,
            version_id=version.pk,
            defaults={
                "method": method,
                "channel": channel,
                "accepted_at": timezone.now(),
                "ip": ip or None,
                "user_agent": _clip(user_agent),
                "language": text_language,
                "text_sha256": sha,
                "email_verified": user.email_verified_at is not None,
            },
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
            consent_change_announce(user_ids=[user.pk], event=ACCEPTANCE_RECORDED, at=acceptance.accepted_at)
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


def acceptance_signup(
    *,
    email: str,
    password: str,
    full_name: str,
    phone: Any = "",
    language: str,
    ip: str | None = None,
    user_agent: str = "",
    policy_version: int | None = None,
    policy_language: str = "",
):
    """Create an account and, when a policy version was shown and accepted, its sign-up acceptance.

    Both are one transaction: a refused acceptance (VersionNotCurrent) leaves no account behind. When the
    address has an account already, accounts' user_signup tells its owner and this returns None.
    """
    with transaction.atomic():
        user = user_signup(
            email=email, password=password, full_name=full_name, phone=phone, language=language, ip=ip
        )
        if user is not None and policy_version is not None:
            version = PolicyVersion.objects.filter(
                number=policy_version, status=PolicyVersion.Status.PUBLISHED
            ).first()
            if version is None:
                raise VersionNotCurrent(f"Version {policy_version} is not published.")
            acceptance_record(
                user=user,
                version=version,
                method=Acceptance.Method.SIGNUP,
                channel=Channel.WEB,
                language=policy_language or language,
                ip=ip,
                user_agent=user_agent,
            )
    return user


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
    user_last_use_record(user_id=user_id, at=now or timezone.now())
    return True


@dataclass(frozen=True)
class UseInput:
    user_id: int
    used_at: datetime
    channel: str


def use_reports_record(*, token: ServiceToken, uses: list[UseInput]) -> int:
    """Store a batch of uses reported by another service, all or none; a repeated report is kept once.

    Each report stays as the evidence (time, channel, service) of that use; the users' last use is raised
    too, in one statement. The uses of a user whose data is blocked are not collected (they count as
    recorded, so the service learns nothing it could not read from consent-status).
    """
    blocked = set(
        get_user_model()
        .objects.filter(pk__in={use.user_id for use in uses}, blocked_at__isnull=False)
        .values_list("pk", flat=True)
    )
    recorded = len(uses)
    uses = [use for use in uses if use.user_id not in blocked]
    rows = [UseReport(user_id=u.user_id, used_at=u.used_at, channel=u.channel, token=token) for u in uses]
    latest: dict[int, datetime] = {}
    for use in uses:
        if use.user_id not in latest or use.used_at > latest[use.user_id]:
            latest[use.user_id] = use.used_at
    with transaction.atomic():
        UseReport.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        user_last_uses_raise(uses=latest)
    return recorded


# --- The sweep: continued use after the deadline counts as acceptance (clause 1.2) ---------------


def _text_cases(version: PolicyVersion, column: str) -> tuple[str, list, list]:
    """Return a CASE on a user's language in `column`, with its parameters for the language and for the hash
    of the text of `version` that language is shown (its own, else the Kazakh one)."""
    whens, language_params, sha_params = "", [], []
    for code, _name in settings.LANGUAGES:
        text, _fallback = policy_text_for(version=version, language=code)
        whens += "WHEN %s THEN %s "
        language_params += [code, text.language if text else code]
        sha_params += [code, text.body_sha256 if text else ""]
    default, _fallback = policy_text_for(version=version, language=settings.LANGUAGE_CODE)
    language_params.append(default.language if default else settings.LANGUAGE_CODE)
    sha_params.append(default.body_sha256 if default else "")
    return f"CASE {column} {whens}ELSE %s END", language_params, sha_params


def _verified(email_field: str) -> ExpressionWrapper:
    """True where the user had confirmed their address (`<email_field>_verified_at` is set)."""
    return ExpressionWrapper(Q(**{f"{email_field}_verified_at__isnull": False}), output_field=BooleanField())


def _sweep_statement(
    *, version: PolicyVersion, texts: tuple[str, list, list], lo: int, hi: int, now: datetime
) -> tuple[str, list]:
    """Build the INSERT ... SELECT of the implicit acceptances of users with ids in (lo, hi].

    The uses are the users' last use of the portal and the uses other services reported, each at or after
    the deadline; the earliest one per user is the evidence (at the same moment, the report). Only users in
    the agreement count (accounts' selector).
    """
    deadline = version.implicit_acceptance_at
    users = users_in_agreement().filter(pk__gt=lo, pk__lte=hi)
    web_sql, web_params = (
        users.filter(last_used_at__gte=deadline, last_used_at__lte=now)
        .values(uid=F("pk"), lang=F("language"), use_time=F("last_used_at"), verified=_verified("email"))
        .query.sql_with_params()
    )
    report_sql, report_params = (
        UseReport.objects.filter(
            user_id__gt=lo, user_id__lte=hi, used_at__gte=deadline, used_at__lte=now, user__in=users
        )
        .values(
            uid=F("user_id"),
            lang=F("user__language"),
            use_time=F("used_at"),
            use_channel=F("channel"),
            source=Substr(Concat(Value("api:"), F("token__name")), 1, 120),
            report_id=F("pk"),
            verified=_verified("user__email"),
        )
        .query.sql_with_params()
    )
    qn = connection.ops.quote_name
    table = qn(Acceptance._meta.db_table)
    case, language_params, sha_params = texts
    names = (
        "user", "version", "method", "channel", "accepted_at", "recorded_at", "ip", "user_agent", "language",
        "text_sha256", "used_at", "use_source", "use_report", "email_verified",
    )  # fmt: skip
    columns = ", ".join(qn(Acceptance._meta.get_field(name).column) for name in names)
    # Identifiers come from model metadata and every value is a parameter. The WHERE before ON CONFLICT
    # keeps SQLite from reading it as a join's ON.
    sql = f"""
        INSERT INTO {table} ({columns})
        SELECT e.uid, %s, %s, e.use_channel, e.use_time, %s, NULL, '', {case}, {case}, e.use_time, e.source,
               e.report_id, e.verified
        FROM (
            SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.uid ORDER BY c.use_time, c.from_web) AS use_rank
            FROM (
                SELECT w.uid, w.lang, w.use_time, %s AS use_channel, %s AS source,
                       CAST(NULL AS bigint) AS report_id, 1 AS from_web, w.verified
                FROM ({web_sql}) w
                UNION ALL
                SELECT r.uid, r.lang, r.use_time, r.use_channel, r.source, r.report_id, 0 AS from_web,
                       r.verified
                FROM ({report_sql}) r
            ) c
        ) e
        WHERE e.use_rank = 1
          AND NOT EXISTS (
              SELECT 1 FROM {table} a
              WHERE a.user_id = e.uid AND a.version_id = %s AND a.user_id > %s AND a.user_id <= %s
          )
        ON CONFLICT (user_id, version_id) DO NOTHING
    """  # noqa: S608
    params = [
        version.pk,
        Acceptance.Method.IMPLICIT,
        connection.ops.adapt_datetimefield_value(now),
        *language_params,
        *sha_params,
        Channel.WEB,
        Channel.WEB,
        *web_params,
        *report_params,
        version.pk,
        lo,
        hi,
    ]
    return sql, params


def implicit_acceptance_sweep(*, now: datetime | None = None, chunk_size: int | None = None) -> dict:
    """Turn every recorded use at or after the deadline of the version in force into an implicit acceptance.

    Set-based: one INSERT ... SELECT per range of user ids, each in its own transaction; idempotent and safe
    beside explicit accepts (see _sweep_statement for the evidence taken).
    """
    now = now or timezone.now()
    if settings.IMPLICIT_ACCEPTANCE_DAYS <= 0:
        return {"status": "off", "created": 0}
    version = policy_version_current()
    if version is None or version.implicit_acceptance_at is None:
        return {"status": "no-deadline", "created": 0}
    if not implicit_acceptance_passed(deadline=version.implicit_acceptance_at, now=now):
        return {"status": "before-deadline", "version": version.number, "created": 0}
    chunk_size = chunk_size or settings.IMPLICIT_SWEEP_CHUNK_SIZE
    texts = _text_cases(version, "e.lang")
    created = 0
    for lo, hi in user_id_ranges(size=chunk_size):
        sql, params = _sweep_statement(version=version, texts=texts, lo=lo, hi=hi, now=now)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            created += max(cursor.rowcount, 0)
    if created:
        audit_event_record(
            action="acceptance.implicit_sweep",
            target=version,
            details={"version": version.number, "created": created},
        )
    return {"status": "swept", "version": version.number, "created": created}


# --- Reminders ----------------------------------------------------------------------------------

REMINDER_CHUNK_IDS = 10_000


def policy_reminders_send(*, now: datetime | None = None) -> dict:
    """A few days before the deadline of the version in force, remind each user who has not accepted it."""
    now = now or timezone.now()
    days = settings.POLICY_REMINDER_DAYS_BEFORE
    version = policy_version_current()
    if days <= 0 or version is None or version.implicit_acceptance_at is None:
        return {"status": "off"}
    deadline = version.implicit_acceptance_at
    if implicit_acceptance_passed(deadline=deadline, now=now) or now < deadline - timedelta(days=days):
        return {"status": "not-due", "version": version.number}
    written = policy_reminder_queue(version=version)
    return {"status": "queued", "version": version.number, "result": written}


def policy_reminder_queue(*, version: PolicyVersion, chunk_ids: int = REMINDER_CHUNK_IDS) -> int:
    """Email the reminder of `version` to every user in the agreement who has not accepted it; return how
    many emails were written.

    Users are taken in ranges of ids, each range one transaction; the key
    `policy-reminder:<number>:<user id>` means nobody is reminded twice of one version.
    """
    contexts = policy_email_contexts(version=version)
    pending = users_pending_acceptance(version_id=version.pk)
    written = 0
    for lo, hi in user_id_ranges(size=chunk_ids):
        with transaction.atomic():
            ids = outbox_fanout(
                recipients=pending.filter(pk__gt=lo, pk__lte=hi),
                template=REMINDER_TEMPLATE,
                topic=REMINDER_TOPIC,
                object_id=version.pk,
                dedup_prefix=f"policy-reminder:{version.number}:",
                contexts=contexts,
            )
        written += len(ids)
    if written:
        audit_event_record(action="policy.remind", target=version, details={"emails": written})
    return written


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
    ids = list(Acceptance.objects.filter(user_id__in=user_ids).values_list("pk", flat=True))
    audit_personal_data_erase(targets={Acceptance._meta.label_lower: ids})
    return (
        Acceptance.objects.filter(pk__in=ids)
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


# --- Webhooks: other services told of changes to consent (docs/webhooks.md) ------------------------


def webhook_endpoint_create(*, token: ServiceToken, url: str, active: bool = True, actor=None):
    """Register the service's webhook URL and make its signing secret; return (endpoint, secret).

    The secret is shown once, to be copied into the service's settings.
    """
    raw = WebhookEndpoint.generate_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint(
            token=token,
            url=(url or "").strip(),
            secret=raw,
            secret_prefix=raw[:12],
            active=active,
            created_by=actor if getattr(actor, "pk", None) else None,
            secret_rotated_at=timezone.now(),
        )
        endpoint.full_clean()
        endpoint.save()
        audit_event_record(
            actor=actor,
            action="webhook_endpoint.create",
            target=endpoint,
            details={"service": token.name, "url": endpoint.url, "active": active},
        )
    return endpoint, raw


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, active: bool, actor=None
) -> WebhookEndpoint:
    """Change the URL or turn the endpoint on or off; what it is still owed goes to the new URL."""
    with transaction.atomic():
        endpoint.url = (url or "").strip()
        endpoint.active = active
        endpoint.full_clean()
        endpoint.save(update_fields=["url", "active"])
        webhook_endpoint_deliveries_update(endpoint_id=endpoint.pk, url=endpoint.url, secret=endpoint.secret)
        audit_event_record(
            actor=actor,
            action="webhook_endpoint.update",
            target=endpoint,
            details={"url": endpoint.url, "active": active},
        )
    return endpoint


def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint, actor=None) -> str:
    """Make a new signing secret (the old one stops at once) and return it; it is shown once."""
    raw = WebhookEndpoint.generate_secret()
    with transaction.atomic():
        endpoint.secret = raw
        endpoint.secret_prefix = raw[:12]
        endpoint.secret_rotated_at = timezone.now()
        endpoint.save(update_fields=["secret", "secret_prefix", "secret_rotated_at"])
        webhook_endpoint_deliveries_update(endpoint_id=endpoint.pk, url=endpoint.url, secret=raw)
        audit_event_record(actor=actor, action="webhook_endpoint.rotate_secret", target=endpoint)
    return raw


def consent_change_publish(*, user_ids: list[int], event: str, at: datetime) -> int:
    """Owe every active webhook one signed POST per user about `event`, with the user's consent status now.

    Called (through accounts.services.consent_change_announce) in the transaction of the change: the
    deliveries commit with it and are posted after commit. Return how many deliveries were written.
    """
    endpoints = list(
        WebhookEndpoint.objects.filter(active=True, token__revoked_at__isnull=True).only(
            "pk", "url", "secret"
        )
    )
    if not endpoints or not user_ids:
        return 0
    users = get_user_model().objects.filter(pk__in=list(user_ids)).order_by("pk")
    deliveries = []
    for user_id, status in consent_statuses(users=users).items():
        event_id = uuid.uuid4()
        body = json.dumps(
            {
                "id": str(event_id),
                "type": event,
                "time": at,
                "user_id": user_id,
                "consent_status": consent_status_data(status),
            },
            cls=DjangoJSONEncoder,  # as the API writes times: ISO 8601, to the millisecond, UTC as Z
            ensure_ascii=False,
        )
        deliveries.extend(
            webhook_delivery_build(
                event_id=event_id,
                event_type=event,
                endpoint_id=endpoint.pk,
                url=endpoint.url,
                secret=endpoint.secret,
                body=body,
                user_id=user_id,
            )
            for endpoint in endpoints
        )
    webhook_deliveries_queue(deliveries=deliveries)
    return len(deliveries)
