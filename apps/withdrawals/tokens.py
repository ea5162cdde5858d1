"""Signed links: the confirm-your-email link (expires) and the private status link (does not).

Both sign the request's random public id; `django.core.signing` compares signatures in constant time.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

from apps.core.signing import LinkExpired, LinkInvalid, signed_value_read

__all__ = ["LinkExpired", "LinkInvalid"]

CONFIRM_SALT = "withdrawals.confirm"
STATUS_SALT = "withdrawals.status"


def confirm_token_make(public_id: uuid.UUID) -> str:
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign(public_id.hex)


def confirm_token_read(token: str) -> uuid.UUID:
    """Return the public id in a confirm link; raise LinkExpired or LinkInvalid."""
    max_age = timedelta(hours=settings.WITHDRAWAL_CONFIRM_HOURS)
    return _uuid(signed_value_read(token, salt=CONFIRM_SALT, max_age=max_age))


def status_token_make(public_id: uuid.UUID) -> str:
    return signing.Signer(salt=STATUS_SALT).sign(public_id.hex)


def status_token_read(token: str) -> uuid.UUID:
    """Return the public id in a status link; raise LinkInvalid."""
    return _uuid(signed_value_read(token, salt=STATUS_SALT))


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=value)
    except ValueError as exc:
        raise LinkInvalid from exc
