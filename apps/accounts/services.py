from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import audit_event_record


class EmailTaken(Exception):
    """An account with this email exists already."""


def user_signup(
    *, email: str, password: str, full_name: str, phone: Any = "", language: str, ip: str | None = None
):
    """Create an account; raise EmailTaken if the address (case-insensitive) is in use."""
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    try:
        with transaction.atomic():
            user = User(email=email, full_name=full_name.strip(), phone=phone or "", language=language)
            user.set_password(password)
            user.full_clean(exclude=["password"])
            user.save()
            audit_event_record(actor=user, action="account.signup", target=user, ip=ip)
    except IntegrityError as exc:
        raise EmailTaken(email) from exc
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


def user_consent_withdraw(*, user, at=None, actor=None, details: dict | None = None) -> bool:
    """Record that the user withdrew consent to all processing; implicit acceptance no longer applies.

    Return False when it was recorded already (the first time stays the evidence).
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
            audit_event_record(actor=actor, action="account.consent_withdrawn", target=user, details=details)
    return bool(updated)


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
    return bool(updated)
