"""The email provider fails (500s, then timeouts) while 500 withdrawal requests are filed; then it recovers.

Every request is stored and every requester sees success during the outage; after recovery (the beat sweep,
run by hand) every email is delivered exactly once: counted per outbox row and per recipient at the provider.
"""

import os
import re
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.notifications.models import OutboxEmail
from apps.withdrawals.models import WithdrawalRequest
from tests.support.servers import database_url, wait_for

from .conftest import PASSWORD, users_create
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

# 500 in `make reliability`; fewer in `make test` to keep the suite short.
REQUESTS = int(os.environ.get("RELIABILITY_ESP_REQUESTS", "150"))
SIGNED_IN_SHARE = 0.4
CONFIRM_LINK = re.compile(r"/privacy/withdraw/confirm/([^/\s\"<]+)/")


def _form(i: int, email: str = "") -> dict:
    return {
        "full_name": f"Requester {i}",
        "email": email,
        "scope": "all",
        "acknowledgement": "on",
        "reason": f"Outage request {i}",
        "submission_token": str(uuid.uuid4()),
    }


def file_request(base_url: str, i: int, tally: Tally, user_email: str = "") -> tuple[str, bool]:
    """File one request as a visitor (or signed in as `user_email`); return (email, success seen)."""
    client = WebClient(base_url, client_ip(1000 + i))
    started = time.monotonic()
    try:
        if user_email:
            response = client.login(user_email, PASSWORD)
            if response.status_code != 302:
                tally.add("login", response, started)
                return user_email, False
            email = user_email
            expected = "/privacy/withdraw/status/"
        else:
            email = f"esp-visitor-{i}@example.kz"
            expected = "/privacy/withdraw/sent/"
        response = client.post("/privacy/withdraw/", _form(i, email))
        tally.add("file", response, started)
        location = response.headers.get("location", "")
        if response.status_code != 302 or not location.startswith(expected):
            return email, False
        page = client.get(location)
        tally.add("file-result", page, started)
        return email, page.status_code == 200
    except Exception as exc:
        tally.add("file", None, started, repr(exc))
        return "", False
    finally:
        client.close()


def _time_passes() -> None:
    """The backoff of failed attempts runs out and the rows are old enough for the sweep."""
    OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1),
        created_at=timezone.now() - timedelta(minutes=5),
    )


def deliver_everything(env: dict, timeout: float = 300) -> int:
    """Act as the beat: let the backoff run out and sweep, until every email is sent; return how many.

    On a busy machine even the recovered provider may miss the short timeout now and then; such an email is
    retried by the next sweep, as in production.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        total = OutboxEmail.objects.count()
        if OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).count() == total:
            return total
        assert not OutboxEmail.objects.filter(status=OutboxEmail.Status.FAILED).exists()
        _time_passes()
        run_in_portal(env, "from apps.notifications.tasks import outbox_sweep\nprint(outbox_sweep())")
        time.sleep(10)
    raise AssertionError("not every email was delivered after recovery")


def test_requests_filed_while_the_provider_fails_are_stored_and_each_email_is_delivered_once(
    private_redis, fake_esp, policy_in_force
):
    signed_in = int(REQUESTS * SIGNED_IN_SHARE)
    users = users_create(signed_in, prefix="esp-member-")
    fake_esp.mode = "error"
    fake_esp.delay = 2.0
    fake_esp.server.handle_error = lambda request, address: None  # clients that timed out hang up
    env = app_env(
        database_url=database_url(),
        redis_url=private_redis.url(),
        ANYMAIL_REQUESTS_TIMEOUT="0.5",
        **fake_esp.environ(),
    )
    web = start_web(env)
    worker = start_worker(env, name="esp", concurrency=2)
    tally = Tally()
    try:
        jobs = [(i, users[i].email if i < signed_in else "") for i in range(REQUESTS)]
        jobs = jobs[::2] + jobs[1::2]  # visitors and members mixed
        with ThreadPoolExecutor(16) as pool:
            split = REQUESTS * 7 // 10
            first = list(pool.map(lambda job: file_request(web.url, job[0], tally, job[1]), jobs[:split]))
            # The provider now hangs instead of failing fast: the worker's requests time out.
            fake_esp.mode = "timeout"
            rest = list(pool.map(lambda job: file_request(web.url, job[0], tally, job[1]), jobs[split:]))
        outcomes = first + rest

        assert tally.server_errors == 0, tally.errors[:5]
        assert all(ok for _email, ok in outcomes), [email for email, ok in outcomes if not ok][:5]
        assert WithdrawalRequest.objects.count() == REQUESTS
        assert fake_esp.received == []
        # The worker tried during the outage: the provider refused some emails and timed out on others.
        failed = OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING, attempts__gte=1)
        wait_for(
            lambda: failed.filter(last_error__icontains="500").exists(),
            timeout=60,
            message="no attempt was refused",
        )
        wait_for(
            lambda: failed.filter(last_error__icontains="timed out").exists(),
            timeout=120,
            message="no attempt timed out",
        )
        assert not OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).exists()

        # Recovery: the provider answers again; time passes and the beat sweep runs.
        fake_esp.mode = "ok"
        wait_for(
            lambda: not OutboxEmail.objects.filter(status=OutboxEmail.Status.SENDING).exists(),
            timeout=60,
            message="emails stuck in sending",
        )
        total = deliver_everything(env)

        # The visitors confirm their address from the email they finally received.
        visitors = [email for email, _ok in outcomes if email.startswith("esp-visitor-")]
        links = {}
        for message in fake_esp.received:
            match = CONFIRM_LINK.search(message.get("TextBody") or "")
            if match and message.get("To") in visitors:
                links[message["To"]] = match.group(0)
        assert len(links) == len(visitors)

        def confirm(item) -> bool:
            index, (_email, path) = item
            client = WebClient(web.url, client_ip(5000 + index))
            started = time.monotonic()
            try:
                client.csrf()
                response = client.post(path, {})
                tally.add("confirm", response, started)
                return response.status_code == 302 and "/status/" in response.headers.get("location", "")
            finally:
                client.close()

        with ThreadPoolExecutor(16) as pool:
            assert all(pool.map(confirm, enumerate(links.items())))
        total = deliver_everything(env)
        time.sleep(1)  # anything sent twice would arrive now
    finally:
        worker.stop()
        web.stop()

    stored = WithdrawalRequest.objects.filter(status=WithdrawalRequest.Status.SUBMITTED).count()
    with connection.cursor() as cursor:
        broken = violations(cursor)
    per_row = delivery_counts(fake_esp.received)
    rows = set(OutboxEmail.objects.values_list("pk", flat=True))
    duplicates = sum(count - 1 for count in per_row.values() if count > 1)
    lost = len(rows - set(per_row))
    per_recipient = Counter(message["To"] for message in fake_esp.received)
    record(
        "esp-outage",
        done=f"{REQUESTS} requests filed over HTTP while the provider answered 500s, then timed out; "
        "recovered, sweep run, visitors confirmed",
        filed=REQUESTS,
        stored=stored,
        emails=total,
        sent=len(fake_esp.received),
        duplicates=duplicates,
        lost=lost,
        errors_5xx=tally.server_errors,
    )
    assert broken == {}
    assert stored == REQUESTS
    assert duplicates == 0 and lost == 0 and None not in per_row
    assert len(fake_esp.received) == total == REQUESTS * 2 + (REQUESTS - signed_in)
    assert per_recipient[settings.PRIVACY_MAILBOX] == REQUESTS
    for user in users:
        assert per_recipient[user.email] == 1  # the receipt
    for email in visitors:
        assert per_recipient[email] == 2  # the confirm link and the receipt
