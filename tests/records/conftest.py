import pytest

from apps.records import keys


@pytest.fixture
def signing_key(settings):
    """A signing key of the test's own, from the environment as in production."""
    key = keys.key_generate()
    settings.CONSENT_SIGNING_KEY = keys.key_private_json(key)
    settings.CONSENT_RETIRED_PUBLIC_KEYS = ""
    return key
