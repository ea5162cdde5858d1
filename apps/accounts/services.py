import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, DateTimeField, F, Q, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from apps.audit.services import (
    audit_event_build,
    audit_event_record,
    audit_events_record,
    audit_personal_data_erase,
)
from apps.notifications.services import outbox_emails_queue

from . import emails, selectors, tokens
from .models import PurposeWithdrawal


class ConsentEvent:
    """The changes to a person's consent or agreement the company's other services are told about."""

    CONSENT_WITHDRAWN = "consent.withdrawn"
    PURPOSES_WITHDRAWN = "consent.purposes_withdrawn"
    AGREEMENT_ENDED = "agreement.ended"
    ACCOUNT_ERASED = "account.erased"
    PROCESSING_BLOCKED = "processing.blocked"
    PROCESSING_UNBLOCKED = "processing.unblocked"
    AUTOMATED_PROCESSING_OBJECTED = "processing.objected"


def consent_change_announce(*, user_ids: list[int], event: str, at: datetime) -> None:
    """Tell each of CONSENT_CHANGE_RECEIVERS that these users' consent or agreement changed (`event`).

    Called inside the transaction of the change, so what a receiver writes (the webhooks' outbox) commits or
    rolls back with it. A receiver is `f(*, user_ids, event, at)`.
    """
    if not user_ids:
        return
    for path in settings.CONSENT_CHANGE_RECEIVERS:
        import_string(path)(user_ids=list(user_ids), event=event, at=at)


class VerificationFailed(Exception):
    """A confirm-your-address link that cannot be used: altered, used already, or for no account."""


class VerificationExpired(VerificationFailed):
    """The confirm-your-address link is older than ACCOUNT_VERIFY_HOURS."""


def user_signup(
    *,
    email: str,
    password: str,
    full_name: str,
    phone: Any = "",
    language: str,
    ip: str | None = None,
):
    """Create an unverified account and email it the link that confirms its address; return the account.

    When the address (case-insensitive) belongs to an account already, create nothing, email that
    account's owner instead and return None: the caller signs nobody in and answers in words that do not say
    whether the address has an account (the sign-up view says which difference remains). The password is
    hashed either way, so both take as long.
    Call it inside the transaction of anything else that must exist with the account (the sign-up
    acceptance: acceptances.services.acceptance_signup).
    """
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    user = User(email=email, full_name=full_name.strip(), phone=phone or "", language=language)
    user.set_password(password)
    owner = User.objects.filter(email__iexact=email).first()
    if owner is None:
        try:
            with transaction.atomic():
                # The database refuses a taken address (unique, case-insensitive), also in a race.
                user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
                user.save()
                audit_event_record(actor=user, action="account.signup", target=user, ip=ip)
                outbox_emails_queue(emails=[emails.email_verification(user)])
            return user
        except IntegrityError:
            owner = User.objects.filter(email__iexact=email).first()
            if owner is None:
                raise
    with transaction.atomic():
        audit_event_record(action="account.signup_attempt", target=owner, ip=ip)
        outbox_emails_queue(emails=[emails.signup_attempt(owner)])
    return None


def user_email_verification_send(*, user) -> bool:
    """Email the account a new link that confirms its address; False when the address is confirmed."""
    if user.email_verified_at is not None:
        return False
    outbox_emails_queue(emails=[emails.email_verification(user)])
    return True


def user_email_verify(*, token: str, ip: str | None = None):
    """Confirm the account's address from the emailed link and return the account; the link then stops
    working. Raise VerificationExpired or VerificationFailed."""
    try:
        user_id, state = tokens.email_verify_token_read(token)
    except tokens.LinkExpired as exc:
        raise VerificationExpired from exc
    except tokens.LinkInvalid as exc:
        raise VerificationFailed from exc
    User = get_user_model()
    with transaction.atomic():
        user = (
            User.objects.select_for_update()
            .filter(pk=user_id, is_active=True, erased_at__isnull=True)
            .first()
        )
        if user is None or not tokens.email_verify_state_matches(state, user):
            raise VerificationFailed
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        audit_event_record(actor=user, action="account.email_verified", target=user, ip=ip)
    return user


def user_profile_update(*, user, full_name: str, phone: Any, language: str, ip: str | None = None):
    """Change the account's own details."""
    with transaction.atomic():
        user.full_name = full_name.strip()
        user.phone = phone or ""
        user.language = language
        user.full_clean(exclude=["password"])
        user.save(update_fields=["full_name", "phone", "language"])
        audit_event_record(actor=user, action="account.update", target=user, ip=ip)
    return user


def user_language_set(*, user, language: str) -> None:
    """Remember the interface language a signed-in user chose."""
    if user.language != language:
        get_user_model().objects.filter(pk=user.pk).update(language=language)
        user.language = language


def user_last_use_record(*, user_id: int, at: datetime) -> None:
    """Note that the user used the service at `at` (continued use, policy clause 1.2); nothing is collected
    while the user's data is blocked."""
    get_user_model().objects.filter(pk=user_id, blocked_at__isnull=True).update(last_used_at=at)


def user_last_uses_raise(*, uses: dict[int, datetime]) -> int:
    """Raise each user's last use to the time given for them, where it is later; one statement.

    Returns how many users changed; users whose data is blocked are left as they are.
    """
    if not uses:
        return 0
    later = [
        When(Q(pk=user_id) & (Q(last_used_at__isnull=True) | Q(last_used_at__lt=at)), then=Value(at))
        for user_id, at in uses.items()
    ]
    return (
        get_user_model()
        .objects.filter(pk__in=list(uses), blocked_at__isnull=True)
        .update(last_used_at=Case(*later, default=F("last_used_at"), output_field=DateTimeField()))
    )


# --- Retention (policy clause 2.4) --------------------------------------------------------------


def _erasers():
    return [import_string(path) for path in settings.RETENTION_ERASERS]


def retention_erase_expired(*, batch_size: int = 500, now: datetime | None = None) -> int:
    """Erase the personal data of every user due for erasure, chunk by chunk; return how many were erased.

    Each chunk is one transaction: the other apps' erasers (evidence IPs, request contacts, outbox addresses)
    and the account itself are anonymised together, with one audit event per user. Running it again finds
    nothing to do.
    """
    erased = 0
    while True:
        with transaction.atomic():
            rows = list(
                selectors.users_due_for_erasure(now=now)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", "email", "full_name", "phone")[:batch_size]
            )
            if not rows:
                return erased
            _users_erase(
                rows=rows, action="retention.erase", details={"retention_years": settings.RETENTION_YEARS}
            )
            erased += len(rows)


def user_data_erase(*, user_ids: list[int], actor: Any = None, details: dict | None = None) -> int:
    """Erase the personal data of these users now, as retention erasure does (the same erasers, in
    RETENTION_ERASERS, and the account itself), for a granted request to destroy it; return how many were
    erased. One `account.erase` audit event per user, with `details` (e.g. the request's reference). Call it
    in the transaction of the decision; an account erased already is left alone."""
    with transaction.atomic():
        rows = list(
            get_user_model()
            .objects.select_for_update()
            .filter(pk__in=list(user_ids), erased_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "email", "full_name", "phone")
        )
        if rows:
            _users_erase(rows=rows, action="account.erase", actor=actor, details=details or {})
    return len(rows)


def _users_erase(*, rows: list[tuple], action: str, details: dict, actor: Any = None) -> None:
    """Erase the users of `rows` (id, email, full name, phone): every app's eraser, the traces of their
    log-ins and the account; one audit event `action` per user. Call it in a transaction.

    What stays: the account's id (as erased-<id>@erased.invalid, inactive, without password), its agreement
    dates, the acceptance records without IP or browser, the requests without contact details or the person's
    own words, the emails without address or content, and the audit events without their personal part.
    """
    User = get_user_model()
    user_ids = [row[0] for row in rows]
    emails = [row[1] for row in rows]
    for eraser in _erasers():
        eraser(user_ids=user_ids, emails=emails)
    _account_traces_erase(
        user_ids=user_ids, emails=emails, names=[str(value) for row in rows for value in row[2:]]
    )
    stamp = timezone.now()
    User.objects.filter(pk__in=user_ids).update(
        email=Concat(Value("erased-"), Cast("pk", CharField()), Value("@erased.invalid")),
        email_verified_at=None,
        full_name="",
        phone="",
        password=make_password(None),
        is_active=False,
        last_login=None,
        last_used_at=None,
        erased_at=stamp,
    )
    PurposeWithdrawal.objects.filter(user_id__in=user_ids).delete()
    audit_events_record(
        [
            audit_event_build(
                actor=actor,
                action=action,
                target_type=User._meta.label_lower,
                target_id=str(pk),
                target_label=f"erased-{pk}",
                details=details,
            )
            for pk in user_ids
        ]
    )
    consent_change_announce(user_ids=user_ids, event=ConsentEvent.ACCOUNT_ERASED, at=stamp)


def _account_traces_erase(*, user_ids: list[int], emails: list[str], names: list[str]) -> None:
    """Erase what the log-in machinery and the logs kept about these users: the personal part of the audit
    events by or about them (and staff searches that typed their address, name or phone), their sessions,
    django-axes' records of their log-ins, and the admin's change log naming them."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.sessions.models import Session

    User = get_user_model()
    audit_personal_data_erase(
        actor_ids=user_ids,
        targets={User._meta.label_lower: user_ids},
        mentions=[*emails, *(name for name in names if name)],
    )
    wanted = {str(pk) for pk in user_ids}
    live = Session.objects.filter(expire_date__gt=timezone.now())
    stale = [
        session.pk
        for session in live.iterator(chunk_size=2000)
        if str(session.get_decoded().get("_auth_user_id", "")) in wanted
    ]
    Session.objects.filter(pk__in=stale).delete()
    usernames = [email.strip().lower() for email in emails]
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(username__in=usernames).delete()
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id__in=sorted(wanted)
    ).update(object_repr=Concat(Value("erased-"), "object_id"))


def retention_sweeps_run(*, now: datetime | None = None) -> dict[str, int]:
    """Run the daily retention work besides the accounts: each app's sweep in RETENTION_SWEEPS (e.g. the
    requests of visitors without an account), then drop expired sessions (a visitor's session may hold the
    address they wrote). Return what each did."""
    from django.contrib.sessions.models import Session

    done = {path: import_string(path)(now=now) for path in settings.RETENTION_SWEEPS}
    done["sessions"], _kinds = Session.objects.filter(expire_date__lt=now or timezone.now()).delete()
    return done


def staff_totp_device_start(*, user):
    """Return the staff member's pending (unconfirmed) authenticator device, creating one if needed."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def staff_totp_device_confirm(*, user, device, token: str, ip: str | None = None) -> bool:
    """Confirm the pending device if the code from the app is right; the admin then accepts it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if device.user_id != user.pk or device.confirmed or not device.verify_token(token):
        return False
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        audit_event_record(actor=user, action="account.two_factor_enabled", target=user, ip=ip)
    return True


def user_consent_withdraw(*, user, at=None, actor=None, details: dict | None = None) -> bool:
    """Record that the user withdrew consent to all processing; implicit acceptance no longer applies.

    Every purpose counts as withdrawn from then on: a withdrawn purpose `all` records it, with the reference
    of the request named by details["withdrawal"]. Return False when it was recorded already (the first time
    stays the evidence).
    """
    at = at or timezone.now()
    with transaction.atomic():
        updated = (
            get_user_model()
            .objects.filter(pk=user.pk, consent_withdrawn_at__isnull=True)
            .update(consent_withdrawn_at=at)
        )
        if updated:
            user.consent_withdrawn_at = at
            reference = str((details or {}).get("withdrawal") or "")
            _purposes_record(user=user, purposes=[PurposeWithdrawal.ALL], at=at, reference=reference)
            audit_event_record(actor=actor, action="account.consent_withdrawn", target=user, details=details)
            consent_change_announce(user_ids=[user.pk], event=ConsentEvent.CONSENT_WITHDRAWN, at=at)
    return bool(updated)


PURPOSE_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _purposes_record(*, user, purposes: list[str], at: datetime, reference: str) -> list[str]:
    """Write the purposes the user has not withdrawn yet; return them. Call it with the user's row locked."""
    known = set(PurposeWithdrawal.objects.filter(user_id=user.pk).values_list("purpose", flat=True))
    new = [purpose for purpose in dict.fromkeys(purposes) if purpose not in known]
    PurposeWithdrawal.objects.bulk_create(
        [
            PurposeWithdrawal(user_id=user.pk, purpose=purpose, withdrawn_at=at, reference=reference[:20])
            for purpose in new
        ]
    )
    return new


def user_purposes_withdraw(
    *, user, purposes: list[str], reference: str = "", at=None, actor=None
) -> list[str]:
    """Record that the user withdrew consent to these purposes of processing (a granted partial withdrawal).

    `purposes` are codes of the purposes in clause 2.1 of the policy. A purpose withdrawn already keeps its
    first record. Audited, and the company's other services are told (consent_change_announce) when
    anything is new. Return the purposes newly withdrawn.
    """
    purposes = list(purposes)
    bad = [p for p in purposes if not isinstance(p, str) or not PURPOSE_CODE.fullmatch(p) or p == "all"]
    if not purposes or bad:
        raise ValidationError(_("Name one or more purposes by their codes."), code="purposes")
    at = at or timezone.now()
    with transaction.atomic():
        # The user's row serialises two grants for the same person, so each purpose is written once.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        new = _purposes_record(user=user, purposes=purposes, at=at, reference=reference)
        if new:
            audit_event_record(
                actor=actor,
                action="account.purposes_withdrawn",
                target=user,
                details={"purposes": new, "withdrawal": reference},
            )
            consent_change_announce(user_ids=[user.pk], event=ConsentEvent.PURPOSES_WITHDRAWN, at=at)
    return new


def user_agreement_end(*, user, at=None, actor=None, details: dict | None = None) -> bool:
    """End the user agreement; its end time starts the retention clock (policy clause 2.4).

    Return False when the agreement had ended already.
    """
    User = get_user_model()
    at = at or timezone.now()
    with transaction.atomic():
        updated = User.objects.filter(pk=user.pk, agreement_status=User.AgreementStatus.ACTIVE).update(
            agreement_status=User.AgreementStatus.ENDED, agreement_ended_at=at
        )
        if updated:
            user.agreement_status = User.AgreementStatus.ENDED
            user.agreement_ended_at = at
            audit_event_record(actor=actor, action="account.agreement_ended", target=user, details=details)
            consent_change_announce(user_ids=[user.pk], event=ConsentEvent.AGREEMENT_ENDED, at=at)
    return bool(updated)


def user_view_record(*, user, actor, ip: str | None = None) -> None:
    """Record that a staff member opened a user's account and its privacy data (policy clause 3.4)."""
    audit_event_record(actor=actor, action="account.view", target=user, ip=ip)


# --- The rights of the data subject: correction, blocking, objection --------------------------------

# The account's details staff may correct for a granted correction request. The email changes only through
# the confirm-your-address flow: the account takes the new address unconfirmed, and the link goes there.
CORRECTABLE_FIELDS = ("full_name", "phone", "email")


def user_details_correct(
    *, user, changes: dict[str, Any], actor: Any, reference: str, ip: str | None = None
) -> list[dict[str, str]]:
    """Correct the account's details as a granted correction request asks; return what changed, as
    [{"field", "old", "new"}] (a value that is the same already is not a change).

    `changes` maps fields of CORRECTABLE_FIELDS to their new values. Each change is one `account.correct`
    audit event naming the field and the request; its old and new values are in the event's personal part,
    which erasure of the person's data clears. A new email address is taken unconfirmed and the link that
    confirms it is emailed to it (the existing confirm-your-address flow); an address another account has
    is refused. Raise ValidationError when a value is not valid, changing nothing.
    """
    unknown = sorted(set(changes) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise ValidationError(_("These details cannot be corrected here: %(fields)s.") % {"fields": unknown})
    User = get_user_model()
    made: list[dict[str, str]] = []
    try:
        with transaction.atomic():
            locked = User.objects.select_for_update().get(pk=user.pk)
            if locked.erased_at is not None:
                raise ValidationError(_("This account's data has been erased."), code="erased")
            before = {field: str(getattr(locked, field) or "") for field in CORRECTABLE_FIELDS}
            for field in CORRECTABLE_FIELDS:
                if field not in changes:
                    continue
                value = " ".join(str(changes[field] or "").split())
                if field == "email":
                    value = User.objects.normalize_email(value).lower()
                setattr(locked, field, value)
            locked.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
            after = {field: str(getattr(locked, field) or "") for field in CORRECTABLE_FIELDS}
            made = [
                {"field": field, "old": before[field], "new": after[field]}
                for field in CORRECTABLE_FIELDS
                if field in changes and before[field] != after[field]
            ]
            if not made:
                return []
            fields = [change["field"] for change in made]
            email_changed = "email" in fields
            if email_changed:
                if User.objects.filter(email__iexact=locked.email).exclude(pk=locked.pk).exists():
                    raise ValidationError(
                        _("Another account has the address %(email)s.") % {"email": locked.email},
                        code="email_taken",
                    )
                locked.email_verified_at = None
                fields.append("email_verified_at")
            locked.save(update_fields=fields)
            audit_events_record(
                [
                    audit_event_build(
                        actor=actor,
                        action="account.correct",
                        target=locked,
                        details={"field": change["field"], "reference": reference},
                        personal={"old": change["old"], "new": change["new"]},
                        ip=ip,
                    )
                    for change in made
                ]
            )
            if email_changed:
                outbox_emails_queue(emails=[emails.email_verification(locked)])
    except IntegrityError as exc:  # the address was taken meanwhile
        raise ValidationError(_("Another account has this address."), code="email_taken") from exc
    for field in (*CORRECTABLE_FIELDS, "email_verified_at"):
        setattr(user, field, getattr(locked, field))
    return made


def user_block(*, user, reference: str, actor: Any = None, at: datetime | None = None) -> bool:
    """Block the user's data for the granted request `reference`: from `at`, nothing is collected, used,
    shared, changed or erased (the sweeps and notices skip the user, consent-status and the webhooks say
    so) until user_unblock. Return False when the data was blocked already (the first blocking stays)."""
    at = at or timezone.now()
    with transaction.atomic():
        updated = (
            get_user_model()
            .objects.filter(pk=user.pk, blocked_at__isnull=True, erased_at__isnull=True)
            .update(blocked_at=at, blocked_reference=reference[:20])
        )
        if updated:
            user.blocked_at, user.blocked_reference = at, reference[:20]
            audit_event_record(
                actor=actor, action="account.block", target=user, details={"reference": reference}
            )
            consent_change_announce(user_ids=[user.pk], event=ConsentEvent.PROCESSING_BLOCKED, at=at)
    return bool(updated)


def user_unblock(*, user, reference: str, actor: Any = None, at: datetime | None = None) -> bool:
    """Lift the blocking of the user's data (staff, on the blocking request `reference`); processing may
    resume. Return False when the data was not blocked by that request (not blocked, or blocked under
    another request, whose own unblocking lifts it)."""
    at = at or timezone.now()
    User = get_user_model()
    with transaction.atomic():
        locked = (
            User.objects.select_for_update()
            .filter(pk=user.pk, blocked_at__isnull=False, blocked_reference=reference[:20])
            .first()
        )
        if locked is None:
            return False
        details = {
            "reference": reference,
            "blocked_by": locked.blocked_reference,
            "blocked_at": locked.blocked_at.isoformat(),
        }
        User.objects.filter(pk=user.pk).update(blocked_at=None, blocked_reference="")
        user.blocked_at, user.blocked_reference = None, ""
        audit_event_record(actor=actor, action="account.unblock", target=user, details=details)
        consent_change_announce(user_ids=[user.pk], event=ConsentEvent.PROCESSING_UNBLOCKED, at=at)
    return True


def user_automated_processing_object(
    *, user, reference: str, actor: Any = None, at: datetime | None = None
) -> bool:
    """Record that the user objected to decisions about them made solely by automated processing (a
    granted objection, Law on Personal Data, Art. 19-1); consent-status and the webhooks tell the other
    services. Return False when it was recorded already (the first record stays)."""
    at = at or timezone.now()
    with transaction.atomic():
        updated = (
            get_user_model()
            .objects.filter(pk=user.pk, automated_processing_objected_at__isnull=True, erased_at__isnull=True)
            .update(
                automated_processing_objected_at=at, automated_processing_objection_reference=reference[:20]
            )
        )
        if updated:
            user.automated_processing_objected_at = at
            user.automated_processing_objection_reference = reference[:20]
            audit_event_record(
                actor=actor,
                action="account.automated_processing_object",
                target=user,
                details={"reference": reference},
            )
            consent_change_announce(
                user_ids=[user.pk], event=ConsentEvent.AUTOMATED_PROCESSING_OBJECTED, at=at
            )
    return bool(updated)
