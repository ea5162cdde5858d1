"""The confirm-your-address link of an account: signed, expires after ACCOUNT_VERIFY_HOURS, works once.

The signed value holds the account's id and a digest of its address and of the moment the address was
confirmed (none yet). Confirming changes that moment, so the link stops working once used, as Django's
password-reset tokens stop working once the user logs in.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from apps.core.signing import LinkExpired, LinkInvalid, signed_value_read

__all__ = ["LinkExpired", "LinkInvalid"]

SALT = "accounts.verify_email"


def _state(user) -> str:
    confirmed = user.email_verified_at.isoformat() if user.email_verified_at else ""
    value = f"{user.pk}|{user.email.lower()}|{confirmed}"
    return salted_hmac(SALT, value, algorithm="sha256").hexdigest()[:32]


def email_verify_token_make(user) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{user.pk}.{_state(user)}")


def email_verify_token_read(token: str) -> tuple[int, str]:
    """Return (account id, state digest) of a confirm link; raise LinkExpired or LinkInvalid."""
    value = signed_value_read(token, salt=SALT, max_age=timedelta(hours=settings.ACCOUNT_VERIFY_HOURS))
    user_id, _sep, state = value.partition(".")
    if not user_id.isdigit():
        raise LinkInvalid
    return int(user_id), state


def email_verify_state_matches(state: str, user) -> bool:
    """Tell whether a link's state still matches the account: same address, not confirmed since."""
    return constant_time_compare(state, _state(user))
