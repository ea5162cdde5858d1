"""The portal's signing key for consent records and the public keys anyone may check them with.

The private key comes from the environment (CONSENT_SIGNING_KEY, a private JWK in JSON). Without it, as
under `make run`, a development key is generated once into CONSENT_SIGNING_KEY_FILE (under VAR_DIR, never
committed). Retired public keys (CONSENT_RETIRED_PUBLIC_KEYS, a JWKS or a list of JWKs) stay published so
records signed before a rotation still verify. Each key is named by its RFC 7638 thumbprint (`kid`).
"""

import json
import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"
CURVE = "P-256"


def key_generate() -> ECKey:
    """Return a new private signing key."""
    return ECKey.generate_key(CURVE, private=True)


def key_public_jwk(key: ECKey) -> dict:
    """Return the public half of `key` as a JWK with its kid, use and algorithm."""
    public = {
        name: value for name, value in key.as_dict(private=False).items() if name in ("kty", "crv", "x", "y")
    }
    return {**public, "kid": key.thumbprint(), "use": "sig", "alg": ALGORITHM}


def key_private_json(key: ECKey) -> str:
    """Return `key` as the one-line private JWK that CONSENT_SIGNING_KEY takes."""
    private = {name: value for name, value in key.as_dict(private=True).items() if name != "kid"}
    return json.dumps({**private, "kid": key.thumbprint()}, separators=(",", ":"))


def _import(data: dict, *, private: bool) -> ECKey:
    if data.get("kty") != "EC" or data.get("crv") != CURVE or (private and "d" not in data):
        raise ImproperlyConfigured(f"A consent signing key must be an EC {CURVE} JWK.")
    return ECKey.import_key({name: data[name] for name in ("kty", "crv", "x", "y", "d") if name in data})


def _development_key(path: Path) -> ECKey:
    """Read the development key, creating it (mode 0600, never over another process's) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(key_private_json(key_generate()))
    return _import(json.loads(path.read_text()), private=True)


@lru_cache(maxsize=8)
def _keys(configured: str, file: str, retired: str) -> tuple[ECKey, tuple[dict, ...]]:
    try:
        signing = (
            _import(json.loads(configured), private=True) if configured else _development_key(Path(file))
        )
        published = json.loads(retired) if retired else []
    except ValueError as exc:
        raise ImproperlyConfigured(
            "CONSENT_SIGNING_KEY and CONSENT_RETIRED_PUBLIC_KEYS must be JSON."
        ) from exc
    if isinstance(published, dict):
        published = published.get("keys", [])
    old = tuple(key_public_jwk(_import(item, private=False)) for item in published)
    return signing, old


def _configured() -> tuple[ECKey, tuple[dict, ...]]:
    return _keys(
        getattr(settings, "CONSENT_SIGNING_KEY", ""),
        str(settings.CONSENT_SIGNING_KEY_FILE),
        getattr(settings, "CONSENT_RETIRED_PUBLIC_KEYS", ""),
    )


def signing_key() -> ECKey:
    """Return the key that signs new records."""
    return _configured()[0]


def published_jwks() -> dict:
    """Return the JWKS published at /.well-known/jwks.json: the current public key, then retired ones."""
    signing, retired = _configured()
    current = key_public_jwk(signing)
    return {"keys": [current, *(jwk for jwk in retired if jwk["kid"] != current["kid"])]}


def verification_keys() -> KeySet:
    """Return the published keys as a key set to verify records with."""
    return KeySet.import_key_set(published_jwks())
