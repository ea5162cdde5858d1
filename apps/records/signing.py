"""Sign a consent record (a detached JWS over its RFC 8785 canonical form) and check one.

A signed record is the JSON-LD record with a `proof` member. To check it anywhere: remove `proof`, serialise
the rest as RFC 8785 (JSON Canonicalization Scheme), and verify `proof.jws` (compact JWS, ES256, payload
detached) over it with the key named by its `kid` in the portal's JWKS.
"""

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse
from joserfc import jws
from joserfc.errors import JoseError

from . import keys

CANONICALIZATION = "https://www.rfc-editor.org/rfc/rfc8785"


def canonical_json(value: Any) -> bytes:
    """Return `value` serialised as RFC 8785 requires for records (objects, strings, integers, booleans)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwks_url() -> str:
    return settings.SITE_URL + reverse("records:jwks")


def record_sign(record: dict) -> dict:
    """Return `record` with its `proof`: a JWS by the portal's current key, payload detached."""
    unsigned = {name: value for name, value in record.items() if name != "proof"}
    key = keys.signing_key()
    kid = key.thumbprint()
    compact = jws.serialize_compact(
        {"alg": keys.ALGORITHM, "kid": kid, "cty": "application/ld+json"}, canonical_json(unsigned), key
    )
    header, _payload, signature = compact.split(".")
    return {
        **unsigned,
        "proof": {
            "type": "JsonWebSignature",
            "canonicalization": CANONICALIZATION,
            "kid": kid,
            "verificationMethod": f"{jwks_url()}#{kid}",
            "jws": f"{header}..{signature}",
        },
    }


@dataclass(frozen=True)
class Verification:
    """What checking a record found. `reason` is one of: malformed, no_proof, unknown_key, altered."""

    valid: bool
    reason: str = ""
    kid: str = ""
    record: dict = field(default_factory=dict)


def record_verify(document: Any) -> Verification:
    """Return whether `document` (a parsed JSON value) is a record this portal signed, unchanged since."""
    if not isinstance(document, dict):
        return Verification(False, "malformed")
    proof = document.get("proof")
    if not isinstance(proof, dict) or not isinstance(proof.get("jws"), str):
        return Verification(False, "no_proof")
    parts = proof["jws"].split(".")
    if len(parts) != 3 or parts[1]:
        return Verification(False, "no_proof")
    unsigned = {name: value for name, value in document.items() if name != "proof"}
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        payload = canonical_json(unsigned)
    except (ValueError, TypeError):
        return Verification(False, "malformed")
    if not isinstance(header, dict) or header.get("alg") != keys.ALGORITHM:
        return Verification(False, "altered")
    kid = header.get("kid")
    published = {jwk["kid"] for jwk in keys.published_jwks()["keys"]}
    if not isinstance(kid, str) or kid not in published:
        return Verification(False, "unknown_key", kid=kid if isinstance(kid, str) else "")
    try:
        jws.deserialize_compact(
            f"{parts[0]}.{_b64(payload)}.{parts[2]}", keys.verification_keys(), algorithms=[keys.ALGORITHM]
        )
    except (JoseError, ValueError):
        return Verification(False, "altered", kid=kid)
    return Verification(True, kid=kid, record=unsigned)
