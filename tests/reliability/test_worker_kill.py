"""A worker is killed with SIGKILL in the middle of the announcement fan-out and of the implicit-acceptance
sweep. After a restart and the beat task that resumes the work, every user is counted once, no one twice."""

import os
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.acceptances.models import Acceptance
from apps.notifications.models import OutboxEmail
from apps.policies.models import PolicyVersion
from apps.policies.selectors import ANNOUNCEMENT_TEMPLATE
from tests.policies.factories import PolicyVersionFactory
from tests.support.servers import database_url, wait_for

from .conftest import users_insert
from .invariants import violations
from .support import app_env, record, run_in_portal, start_worker

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

USERS = int(os.environ.get("RELIABILITY_KILL_USERS", "20000"))
ENDED_EVERY = 20  # one user in twenty has ended the agreement and must not be counted


def eligible_count() -> int:
    return USERS - USERS // ENDED_EVERY


def kill_midway(worker, count, target: int) -> int:
    """SIGKILL the worker once some but not all of the work is committed; return the count at the kill."""

    def started() -> int:
        return count() >= min(1500, target // 10)

    wait_for(started, timeout=90, interval=0.01, message="the task never started")
    worker.kill()
    done = count()
    assert 0 < done < target, f"the kill did not land mid-way ({done} of {target})"
    return done


def test_announcement_fanout_killed_midway_resumes_with_every_user_once(private_redis):
    users_insert(USERS, prefix="kill-", ended_every=ENDED_EVERY)
    # Published a while ago and not yet announced: the resume beat task picks it up.
    version = PolicyVersionFactory(published=True, published_at=timezone.now() - timedelta(minutes=10))
    env = app_env(
        database_url=database_url(),
        redis_url=private_redis.url(),
        POLICY_ANNOUNCEMENT_CHUNK_SIZE=400,
    )
    rows = OutboxEmail.objects.filter(template=ANNOUNCEMENT_TEMPLATE)
    expected = eligible_count()

    worker = start_worker(env, name="fanout")
    run_in_portal(
        env, f"from apps.policies.tasks import policy_announce\npolicy_announce.delay({version.pk})"
    )
    at_kill = kill_midway(worker, rows.count, expected)
    version.refresh_from_db()
    assert version.announced_at is None

    worker = start_worker(env, name="fanout-restarted")
    try:
        resumed = run_in_portal(
            env, "from apps.policies.tasks import policy_announce_resume as t\nprint(t())"
        )
        assert str(version.pk) in resumed
        wait_for(
            lambda: PolicyVersion.objects.filter(pk=version.pk, announced_at__isnull=False).exists(),
            timeout=120,
            message="the announcement did not finish after the restart",
        )
    finally:
        worker.stop()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT user_id), "
            "count(*) FILTER (WHERE u.agreement_status <> 'active') "
            "FROM notifications_outboxemail o JOIN accounts_user u ON u.id = o.user_id WHERE o.template = %s",
            [ANNOUNCEMENT_TEMPLATE],
        )
        total, distinct, ineligible = cursor.fetchone()
        broken = violations(cursor)
    version.refresh_from_db()
    record(
        "worker-kill-fanout",
        done=f"announcement to {USERS} users (ranges of 400); worker SIGKILLed after {at_kill} emails were "
        "written; restarted, resume beat task run",
        filed=expected,
        stored=distinct,
        emails=total,
        duplicates=total - distinct,
        lost=expected - distinct,
        errors_5xx=0,
    )
    assert broken == {}
    assert total == distinct == expected == version.announcement_written
    assert ineligible == 0


def test_implicit_sweep_killed_midway_resumes_with_every_user_once(private_redis):
    version = PolicyVersionFactory(published=True, published_at=timezone.now() - timedelta(days=10))
    version.announced_at = timezone.now()
    PolicyVersion.objects.filter(pk=version.pk).update(announced_at=version.announced_at)
    users_insert(
        USERS, prefix="kill-", ended_every=ENDED_EVERY, last_used_at=timezone.now() - timedelta(hours=1)
    )
    # A few pressed the button before the sweep: they keep their explicit acceptance.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO acceptances_acceptance (user_id, version_id, method, channel, accepted_at, "
            "recorded_at, user_agent, language, text_sha256, use_source) "
            "SELECT id, %s, 'explicit', 'web', now(), now(), '', 'kk', '', '' FROM accounts_user "
            "WHERE agreement_status = 'active' ORDER BY id DESC LIMIT 100",
            [version.pk],
        )
    env = app_env(database_url=database_url(), redis_url=private_redis.url(), IMPLICIT_SWEEP_CHUNK_SIZE=150)
    acceptances = Acceptance.objects.filter(version=version)
    expected = eligible_count()

    worker = start_worker(env, name="sweep")
    run_in_portal(env, "from apps.acceptances.tasks import implicit_sweep\nimplicit_sweep.delay()")
    at_kill = kill_midway(worker, acceptances.count, expected)

    worker = start_worker(env, name="sweep-restarted")
    try:
        # The next beat of the sweep, as CELERY_BEAT_SCHEDULE sends it.
        run_in_portal(env, "from apps.acceptances.tasks import implicit_sweep\nimplicit_sweep.delay()")
        wait_for(lambda: acceptances.count() >= expected, timeout=120, message="the sweep did not finish")
        time.sleep(0.5)
        # Another beat finds nothing left to do.
        run_in_portal(env, "from apps.acceptances.tasks import implicit_sweep\nimplicit_sweep.delay()")
        time.sleep(2)
    finally:
        worker.stop()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT user_id), "
            "count(*) FILTER (WHERE method = 'explicit'), "
            "count(*) FILTER (WHERE u.agreement_status <> 'active') "
            "FROM acceptances_acceptance a JOIN accounts_user u ON u.id = a.user_id WHERE a.version_id = %s",
            [version.pk],
        )
        total, distinct, explicit, ineligible = cursor.fetchone()
    record(
        "worker-kill-sweep",
        done=f"implicit-acceptance sweep over {USERS} users (ranges of 150); worker SIGKILLed after "
        f"{at_kill} acceptances; restarted, sweep beat run twice",
        filed=expected,
        stored=distinct,
        emails=0,
        duplicates=total - distinct,
        lost=expected - distinct,
        errors_5xx=0,
    )
    assert total == distinct == expected
    assert explicit == 100 and ineligible == 0
