"""Signed links (confirm an address, confirm a request, follow a request): what every app's links share."""

from datetime import timedelta

from django.core import signing


class LinkInvalid(Exception):
    """The link was altered, used already, or belongs to something else."""


class LinkExpired(LinkInvalid):
    """The link was genuine but is too old."""


def signed_value_read(token: str, *, salt: str, max_age: timedelta | None = None) -> str:
    """Return the value a signed link carries; raise LinkExpired when it is older than `max_age`, LinkInvalid
    when it was altered. Without `max_age` the link does not expire."""
    try:
        if max_age is None:
            return signing.Signer(salt=salt).unsign(token)
        return signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
