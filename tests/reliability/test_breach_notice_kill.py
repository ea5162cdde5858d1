"""A worker is killed with SIGKILL in the middle of writing a breach notice to the people affected. After a
restart and the beat task that resumes unfinished notices, every person has the notice once, no one twice."""

import os
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from apps.breaches import services
from apps.breaches.models import BreachNotice
from apps.notifications.models import OutboxEmail
from tests.accounts.factories import UserFactory
from tests.support.servers import database_url, wait_for

from .conftest import users_insert
from .support import app_env, record, run_in_portal, start_worker
from .test_worker_kill import ENDED_EVERY, kill_midway

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

USERS = int(os.environ.get("RELIABILITY_BREACH_USERS", "12000"))


def test_breach_notice_killed_midway_resumes_with_every_person_once(private_redis):
    users_insert(USERS, prefix="breach-kill-", ended_every=ENDED_EVERY)
    officer = UserFactory(is_staff=True, email="officer@alilo.kz")
    breach = services.breach_record(
        actor=officer,
        discovered_at=timezone.now() - timedelta(hours=1),
        description="A copy of the customer list was left on a public share.",
        data_categories="Names, emails",
        people_affected=USERS,
    )
    notice = BreachNotice.objects.create(
        breach=breach,
        audience=BreachNotice.Audience.ALL,
        subject_kk="Деректеріңіз туралы хабарлама",
        body_kk="Құрметті пайдаланушы, ...",
        subject_ru="Уведомление о ваших данных",  # noqa: RUF001 (Russian text)
        body_ru="Уважаемый пользователь, ...",
        created_by=officer,
    )
    # Written a while ago and never finished: the resume sweep takes it up.
    BreachNotice.objects.filter(pk=notice.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    expected = services.breach_notice_recipients(notice).count()
    rows = OutboxEmail.objects.filter(topic=services.NOTICE_TOPIC, object_id=notice.pk)
    env = app_env(database_url=database_url(), redis_url=private_redis.url(), BREACH_NOTICE_CHUNK_IDS=300)

    worker = start_worker(env, name="breach-notice")
    run_in_portal(
        env, f"from apps.breaches.tasks import breach_notice_send\nbreach_notice_send.delay({notice.pk})"
    )
    at_kill = kill_midway(worker, rows.count, expected)

    worker = start_worker(env, name="breach-notice-restarted")
    try:
        resumed = run_in_portal(env, "from apps.breaches.tasks import breach_notices_resume as t\nprint(t())")
        assert str(notice.pk) in resumed
        wait_for(
            lambda: BreachNotice.objects.filter(pk=notice.pk, finished_at__isnull=False).exists(),
            timeout=120,
            message="the notice was not finished after the restart",
        )
    finally:
        worker.stop()

    notice.refresh_from_db()
    total = rows.count()
    distinct = rows.values("user_id").distinct().count()
    record(
        "worker-kill-breach-notice",
        done=f"breach notice to {expected} people (ranges of 300 ids); worker "
        f"SIGKILLed after {at_kill} emails were written; restarted, resume beat task run",
        filed=expected,
        stored=distinct,
        emails=total,
        duplicates=total - distinct,
        lost=expected - distinct,
        errors_5xx=0,
    )
    assert total == distinct == notice.written == expected
    assert rows.values("user_id").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
