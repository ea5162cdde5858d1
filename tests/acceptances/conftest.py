import pytest

from apps.policies.selectors import policy_current_cache_refresh
from tests.accounts.factories import UserFactory
from tests.policies.factories import PolicyVersionFactory


def publish(**kwargs):
    """Create a published version as publishing leaves it and refresh the cached version in force."""
    version = PolicyVersionFactory(published=True, **kwargs)
    policy_current_cache_refresh()
    return version


@pytest.fixture
def version(db):
    return publish()


@pytest.fixture
def user(db):
    return UserFactory(email="aigul@example.kz", language="en")
