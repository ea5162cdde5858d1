"""Signed links: the confirm-your-email link (expires), the private status link (does not) and the one-time
link to download an access package (expires soon; used once).

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
PACKAGE_LINK_SALT = "withdrawals.package_link"


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


def package_link_token_make(link_id: uuid.UUID) -> str:
    return signing.TimestampSigner(salt=PACKAGE_LINK_SALT).sign(link_id.hex)


def package_link_token_read(token: str) -> tuple[uuid.UUID, bool]:
    """Return the download link's id and whether it is older than ACCESS_PACKAGE_LINK_MINUTES; raise
    LinkInvalid when it was altered. An old link still names its package, so its page can say more than
    "expired" (the package's own download period may be over too)."""
    signer = signing.TimestampSigner(salt=PACKAGE_LINK_SALT)
    try:
        link_id = _uuid(signer.unsign(token))
        signer.unsign(token, max_age=timedelta(minutes=settings.ACCESS_PACKAGE_LINK_MINUTES))
    except signing.SignatureExpired:
        return link_id, True
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    return link_id, False


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=value)
    except ValueError as exc:
        raise LinkInvalid from exc
