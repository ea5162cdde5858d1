"""Signed links (confirm an address, confirm a request, follow a request) and signed POSTs to and from the
company's other services: what every app's signatures share."""

import hashlib
import hmac
import time
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


# --- Signed POSTs between the portal and the company's other services (docs/webhooks.md) -----------


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """Return the X-Alilo-Signature value: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_signature_valid(
    *, secret: str, header: str, body: bytes, tolerance_seconds: int, now: float | None = None
) -> bool:
    """Whether `header` (an X-Alilo-Signature value) signs `body` with `secret`, made no more than
    `tolerance_seconds` from `now` (so that a captured request cannot be replayed later)."""
    parts: dict[str, str] = {}
    for item in (header or "").split(","):
        key, _sep, value = item.strip().partition("=")
        parts.setdefault(key, value)
    stamp = parts.get("t", "")
    if not secret or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return False
    timestamp = int(stamp)
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected.encode(), f"t={stamp},v1={parts.get('v1', '')}".encode())
