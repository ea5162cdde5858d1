from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

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
