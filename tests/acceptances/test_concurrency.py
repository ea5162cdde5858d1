import threading
from datetime import timedelta

import pytest
from django.db import connection

from apps.acceptances import services
from apps.acceptances.models import Acceptance
from tests.accounts.factories import UserFactory

from .conftest import publish

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*targets):
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def run(target):
        try:
            barrier.wait(5)
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


def test_explicit_accepts_racing_the_sweep_leave_exactly_one_row_per_user():
    version = publish()
    now = version.implicit_acceptance_at + timedelta(minutes=5)
    users = [UserFactory(last_used_at=now - timedelta(minutes=1)) for _ in range(12)]

    def accept_all():
        for user in users:
            services.acceptance_record_explicit(
                user=user, version=version, language="kk", ip="10.0.0.2", user_agent="tab"
            )

    def sweep():
        services.implicit_acceptance_sweep(now=now, chunk_size=3)

    _race(accept_all, accept_all, sweep, sweep)
    assert Acceptance.objects.count() == len(users)
    assert set(Acceptance.objects.values_list("user_id", flat=True)) == {u.pk for u in users}
    # every explicit acceptance is audited once, however many tabs raced
    from apps.audit.models import AuditEvent

    explicit = Acceptance.objects.filter(method="explicit").count()
    assert AuditEvent.objects.filter(action="acceptance.record").count() == explicit
