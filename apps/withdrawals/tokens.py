"""Signed links: the confirm-your-email link (expires) and the private status link (does not).

Both sign the request's random public id; `django.core.signing` compares signatures in constant time.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

CONFIRM_SALT = "withdrawals.confirm"
STATUS_SALT = "withdrawals.status"


class LinkInvalid(Exception):
    """The link was altered, or belongs to something else."""


class LinkExpired(LinkInvalid):
    """The link was genuine but is too old."""


def confirm_token_make(public_id: uuid.UUID) -> str:
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign(public_id.hex)


def confirm_token_read(token: str) -> uuid.UUID:
    """Return the public id in a confirm link; raise LinkExpired or LinkInvalid."""
    signer = signing.TimestampSigner(salt=CONFIRM_SALT)
    try:
        value = signer.unsign(token, max_age=timedelta(hours=settings.WITHDRAWAL_CONFIRM_HOURS))
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    return _uuid(value)


def status_token_make(public_id: uuid.UUID) -> str:
    return signing.Signer(salt=STATUS_SALT).sign(public_id.hex)


def status_token_read(token: str) -> uuid.UUID:
    """Return the public id in a status link; raise LinkInvalid."""
    try:
        value = signing.Signer(salt=STATUS_SALT).unsign(token)
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    return _uuid(value)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=value)
    except ValueError as exc:
        raise LinkInvalid from exc
