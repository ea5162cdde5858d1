from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
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


def users_insert(count: int, *, prefix: str, ended_every: int = 0, last_used_at=None) -> None:
    """Create `count` users (addresses `<prefix><n>@example.kz`, no password) in one INSERT ... SELECT
    generate_series; with `ended_every`, every `ended_every`-th of them has ended the agreement."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, email, full_name, phone, language,
                agreement_status, agreement_ended_at, last_used_at, is_staff, is_active, date_joined)
            SELECT '!', false, %(prefix)s || g || '@example.kz', 'Bulk User ' || g, '',
                (ARRAY['kk', 'ru', 'en'])[1 + g %% 3],
                CASE WHEN g %% %(ended)s = 0 THEN 'ended' ELSE 'active' END,
                CASE WHEN g %% %(ended)s = 0 THEN now() - interval '1 day' END,
                %(last_used_at)s, false, true, now() - interval '60 days'
            FROM generate_series(1, %(count)s) AS g
            """,
            {
                "count": count,
                "ended": ended_every or count + 1,
                "prefix": prefix,
                "last_used_at": last_used_at,
            },
        )
