from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from tests.policies.factories import PolicyVersionFactory

from .flows import PASSWORD
from .support import RedisServer


@pytest.fixture
def private_redis():
    """A Redis of this test's own (broker and cache of the portal processes), which it may stop."""
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def policy_in_force(transactional_db):
    """A published version, announced already, whose deadline is a week away."""
    version = PolicyVersionFactory(published=True, published_at=timezone.now() - timedelta(days=1))
    type(version).objects.filter(pk=version.pk).update(announced_at=timezone.now())
    return version


def users_create(count: int, *, prefix: str, language: str = "kk") -> list:
    """Create `count` active users who can log in with PASSWORD and confirmed their address; return them."""
    User = get_user_model()
    password = make_password(PASSWORD)
    joined = timezone.now() - timedelta(days=30)
    User.objects.bulk_create(
        [
            User(
                email=f"{prefix}{i}@example.kz",
                full_name=f"Reliable User {i}",
                language=language,
                password=password,
                date_joined=joined,
                email_verified_at=joined,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    return list(User.objects.filter(email__startswith=prefix).order_by("pk"))
