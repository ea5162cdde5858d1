"""50 concurrent clients for RELIABILITY_LOAD_SECONDS (60 in `make reliability`) file requests, accept the
policy and browse, while a staff member works through the requests in the admin.

Zero 5xx; every request the site accepted is stored once (double submissions included); every email is queued
once and, once the worker has caught up, delivered once.
"""

import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from apps.acceptances.models import Acceptance
from apps.notifications.models import OutboxEmail
from apps.withdrawals.models import WithdrawalRequest
from tests.accounts.factories import StaffFactory
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

SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "20"))
CLIENTS = 50
MEMBERS = 30  # the other 20 clients are visitors


def test_fifty_clients_and_a_staff_member_lose_nothing_and_duplicate_nothing(
    private_redis, fake_esp, policy_in_force
):
    number = policy_in_force.number
    members = users_create(MEMBERS, prefix="load-member-")
    staff = StaffFactory(email="load-staff@example.kz")
    staff.set_password(flows.PASSWORD)
    staff.save()
    env = app_env(
        database_url=database_url(),
        redis_url=private_redis.url(),
        RATELIMIT_ENABLE="false",
        **fake_esp.environ(),
    )
    web = start_web(env, workers=2, threads=16)
    worker = start_worker(env, name="load", concurrency=2)
    tally = Tally()
    accepted_tokens: set[str] = set()
    double_submitted = 0
    staff_steps = 0
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def client_loop(index: int) -> None:
        nonlocal double_submitted
        rng = random.Random(index)
        member = members[index] if index < MEMBERS else None
        client = WebClient(web.url, client_ip(6000 + index))
        try:
            if member is not None and not flows.log_in(client, tally, member.email):
                return
            round_ = 0
            while time.monotonic() < deadline:
                round_ += 1
                roll = rng.random()
                if roll < 0.35:
                    email = "" if member else f"load-visitor-{index}-{round_}@example.kz"
                    data = flows.withdrawal_form(index, email=email, scope="partial" if member else "all")
                    if flows.file_withdrawal(client, tally, data, signed_in=member is not None):
                        with lock:
                            accepted_tokens.add(data["submission_token"])
                    if rng.random() < 0.15:  # a double click: the same form again
                        flows.file_withdrawal(client, tally, data, signed_in=member is not None)
                        with lock:
                            double_submitted += 1
                elif roll < 0.5 and member is not None:
                    flows.accept_policy(client, tally, number)
                else:
                    flows.browse(client, tally, signed_in=member is not None)
        finally:
            client.close()

    def staff_loop() -> None:
        nonlocal staff_steps
        client = WebClient(web.url, client_ip(9999))
        try:
            client.csrf("/admin/login/")
            response = client.post(
                "/admin/login/?next=/admin/",
                {"username": staff.email, "password": flows.PASSWORD, "next": "/admin/"},
            )
            assert response.status_code == 302, response.text[:500]
            decide = 0
            while time.monotonic() < deadline:
                pending = list(
                    WithdrawalRequest.objects.filter(
                        status__in=[WithdrawalRequest.Status.SUBMITTED, WithdrawalRequest.Status.IN_REVIEW]
                    ).values_list("pk", "status")[:5]
                )
                if not pending:
                    time.sleep(0.2)
                    continue
                for pk, status in pending:
                    base = f"/admin/withdrawals/withdrawalrequest/{pk}/"
                    flows._step(tally, "admin-view", lambda base=base: client.get(base))
                    if status == WithdrawalRequest.Status.SUBMITTED:
                        step, data = "review", {}
                    elif decide % 2:
                        step, data = "grant", {"confirm": "on"}
                    else:
                        step, data = "refuse", {"reason": "The account is needed for an open order."}
                    decide += status != WithdrawalRequest.Status.SUBMITTED
                    response = flows._step(
                        tally,
                        "admin-" + step,
                        lambda base=base, step=step, data=data: client.post(f"{base}workflow/{step}/", data),
                    )
                    if response is not None and response.status_code == 302:
                        staff_steps += 1
        finally:
            client.close()
            connections.close_all()

    try:
        with ThreadPoolExecutor(CLIENTS + 1) as pool:
            futures = [pool.submit(client_loop, i) for i in range(CLIENTS)] + [pool.submit(staff_loop)]
            for future in futures:
                future.result()
        requests_made = tally.total

        # The worker catches up; anything not queued is swept (as the beat would).
        OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
        run_in_portal(env, "from apps.notifications.tasks import outbox_sweep\nprint(outbox_sweep())")
        total = OutboxEmail.objects.count()
        wait_for(
            lambda: OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).count() == total,
            timeout=240,
            interval=0.5,
            message="the worker did not deliver every email",
        )
        time.sleep(1)
    finally:
        worker.stop()
        web.stop()

    tokens = [uuid.UUID(token) for token in accepted_tokens]
    stored = WithdrawalRequest.objects.filter(submission_token__in=tokens).count()
    per_row = delivery_counts(fake_esp.received)
    duplicates = sum(count - 1 for count in per_row.values() if count > 1)
    lost = len(set(OutboxEmail.objects.values_list("pk", flat=True)) - set(per_row))
    with connection.cursor() as cursor:
        broken = violations(cursor)
    record(
        "load",
        done=f"{CLIENTS} clients for {SECONDS:.0f}s ({requests_made} requests, "
        f"{requests_made / SECONDS:.0f}/s; {double_submitted} double submissions) and a staff member "
        f"({staff_steps} admin steps)",
        filed=len(tokens),
        stored=stored,
        emails=total,
        sent=len(fake_esp.received),
        duplicates=duplicates,
        lost=lost,
        errors_5xx=tally.server_errors,
    )
    assert tally.server_errors == 0, tally.errors[:5]
    assert broken == {}
    assert stored == len(tokens) == WithdrawalRequest.objects.count()
    assert duplicates == 0 and lost == 0 and len(fake_esp.received) == total
    assert staff_steps > 0
    assert Acceptance.objects.filter(method=Acceptance.Method.EXPLICIT).count() <= MEMBERS
