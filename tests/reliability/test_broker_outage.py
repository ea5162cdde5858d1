"""Redis (broker and cache) is stopped while people sign up, file requests, accept the policy and browse.

Every page still answers, quickly, with no 5xx; everything is stored; and once Redis is back the beat sweep
(run by hand) delivers every email that waited, each exactly once.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from apps.acceptances.models import Acceptance
from apps.notifications.models import OutboxEmail
from apps.withdrawals.models import WithdrawalRequest
from tests.support.servers import database_url, wait_for

from . import flows
from .conftest import users_create
from .invariants import violations
from .support import (
    Tally,
    WebClient,
    app_env,
    client_ip,
    delivery_counts,
    record,
    run_in_portal,
    start_web,
    start_worker,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

MEMBERS = 30
VISITORS = 30
SIGNUPS = 15
RESETS = 5
# Publishing to a dead broker is retried once (CELERY_TASK_PUBLISH_RETRY_POLICY); no page may wait longer.
MAX_SECONDS = 5.0


def test_pages_work_without_redis_and_the_sweep_delivers_what_waited_once(
    private_redis, fake_esp, policy_in_force
):
    number = policy_in_force.number
    members = users_create(MEMBERS, prefix="broker-member-")
    env = app_env(database_url=database_url(), redis_url=private_redis.url(), **fake_esp.environ())
    web = start_web(env)
    worker = start_worker(env, name="broker")
    tally = Tally()
    tokens: list[str] = []
    try:
        private_redis.stop()

        def member(i: int) -> bool:
            client = WebClient(web.url, client_ip(2000 + i))
            try:
                data = flows.withdrawal_form(i, scope="partial")
                tokens.append(data["submission_token"])
                return (
                    flows.log_in(client, tally, members[i].email)
                    and flows.accept_policy(client, tally, number)
                    and flows.file_withdrawal(client, tally, data, signed_in=True)
                    and flows.browse(client, tally, signed_in=True)
                )
            finally:
                client.close()

        def visitor(i: int) -> bool:
            client = WebClient(web.url, client_ip(3000 + i))
            try:
                data = flows.withdrawal_form(i, email=f"broker-visitor-{i}@example.kz")
                tokens.append(data["submission_token"])
                return flows.browse(client, tally, signed_in=False) and flows.file_withdrawal(
                    client, tally, data, signed_in=False
                )
            finally:
                client.close()

        def newcomer(i: int) -> bool:
            client = WebClient(web.url, client_ip(4000 + i))
            try:
                return flows.sign_up(client, tally, f"broker-new-{i}@example.kz", number) and flows.browse(
                    client, tally, signed_in=True
                )
            finally:
                client.close()

        def reset(i: int) -> bool:
            client = WebClient(web.url, client_ip(4500 + i))
            try:
                return flows.request_password_reset(client, tally, members[i].email)
            finally:
                client.close()

        jobs = (
            [(member, i) for i in range(MEMBERS)]
            + [(visitor, i) for i in range(VISITORS)]
            + [(newcomer, i) for i in range(SIGNUPS)]
            + [(reset, i) for i in range(RESETS)]
        )
        with ThreadPoolExecutor(12) as pool:
            outcomes = list(pool.map(lambda job: job[0](job[1]), jobs))

        assert tally.server_errors == 0, tally.errors[:5]
        assert all(outcomes), f"{outcomes.count(False)} people did not see success: {tally.statuses}"
        assert max(tally.latencies) < MAX_SECONDS
        waiting = OutboxEmail.objects.count()
        # Members: application and receipt; visitors: the confirm link; newcomers: the address confirmation.
        assert waiting == MEMBERS * 2 + VISITORS + SIGNUPS + RESETS
        assert not OutboxEmail.objects.exclude(status=OutboxEmail.Status.PENDING).exists()

        # Redis is back; the worker reconnects and the beat sweep queues what waited.
        private_redis.start()
        OutboxEmail.objects.update(created_at=timezone.now() - timedelta(minutes=5))
        run_in_portal(env, "from apps.notifications.tasks import outbox_sweep\nprint(outbox_sweep())")
        wait_for(
            lambda: OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).count() == waiting,
            timeout=240,
            interval=0.5,
            message="the emails that waited were not delivered",
        )
        time.sleep(1)
    finally:
        worker.stop()
        web.stop()

    User = get_user_model()
    stored = WithdrawalRequest.objects.filter(submission_token__in=[uuid.UUID(t) for t in tokens]).count()
    accepted = Acceptance.objects.filter(version=policy_in_force, method=Acceptance.Method.EXPLICIT).count()
    signed_up = Acceptance.objects.filter(
        method=Acceptance.Method.SIGNUP, user__in=User.objects.filter(email__startswith="broker-new-")
    ).count()
    per_row = delivery_counts(fake_esp.received)
    duplicates = sum(count - 1 for count in per_row.values() if count > 1)
    lost = len(set(OutboxEmail.objects.values_list("pk", flat=True)) - set(per_row))
    with connection.cursor() as cursor:
        broken = violations(cursor)
    record(
        "broker-outage",
        done=f"Redis stopped; {MEMBERS} members logged in, accepted and filed, {VISITORS} visitors filed, "
        f"{SIGNUPS} signed up, {RESETS} asked for a password reset; Redis restarted, sweep run "
        f"(slowest page {max(tally.latencies):.2f}s)",
        filed=MEMBERS + VISITORS + MEMBERS + SIGNUPS,
        stored=stored + accepted + signed_up,
        emails=waiting,
        sent=len(fake_esp.received),
        duplicates=duplicates,
        lost=lost,
        errors_5xx=tally.server_errors,
    )
    assert broken == {}
    assert stored == MEMBERS + VISITORS
    assert accepted == MEMBERS and signed_up == SIGNUPS
    assert duplicates == 0 and lost == 0
    assert len(fake_esp.received) == waiting
