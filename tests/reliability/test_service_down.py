"""A connected service is down for the whole term of the requests that need it (500s, then refused
connections), with a real worker retrying and the beat sweep (run by hand) taking over when the worker's own
retries run out. Every attempt is recorded, no call is lost or given up, each is flagged once its request is
overdue; when the service comes back, each call is answered exactly once and never posted again.
"""

import json
import os
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall, ServiceCallAttempt
from apps.connectors.selectors import service_calls_unanswered
from apps.connectors.services import service_calls_start, service_calls_sweep
from apps.withdrawals.models import WithdrawalRequest
from tests.support.servers import wait_for
from tests.withdrawals.factories import verified

from .support import record

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

# 200 in `make reliability`; fewer in `make test` to keep the suite short.
CALLS = int(os.environ.get("RELIABILITY_SERVICE_CALLS", "12"))
WORKER_ENV = {
    "SERVICE_CALL_BACKOFF_SECONDS": "1",
    "SERVICE_CALL_BACKOFF_MAX_SECONDS": "2",
    # The worker stops retrying by itself after this many: the sweep must take over, as it does in production.
    "SERVICE_CALL_TASK_RETRIES": "2",
}


def sweep_due() -> dict:
    """Act as the beat once the waits have run out: every queued call is due, and the sweep posts it."""
    ServiceCall.objects.filter(state="queued", claimed_at__isnull=True).update(
        next_attempt_at=timezone.now() - timedelta(minutes=1)
    )
    return service_calls_sweep()


def unrecorded_attempts() -> list[int]:
    """Return the calls whose attempts are not each recorded, in one statement (one snapshot) while the worker
    runs; a call being posted right now has counted its attempt and not yet recorded it."""
    recorded = Count("attempt_log", filter=Q(attempt_log__kind="call"))
    return list(
        ServiceCall.objects.filter(claimed_at__isnull=True)
        .annotate(recorded=recorded)
        .exclude(recorded=F("attempts"))
        .values_list("pk", flat=True)
    )


def calls_posted(service, mode: str) -> Counter:
    """How many times each call id reached the service while it was in `mode`."""
    return Counter(json.loads(item["body"])["call"] for item in service.received if item["mode"] == mode)


def test_a_service_down_for_the_whole_term_loses_nothing_and_answers_each_call_once(
    reference_services, celery_worker_factory
):
    down = reference_services(name="Orders", mode="down", timeout_seconds=2)
    worker = celery_worker_factory(WORKER_ENV, concurrency=2)
    requests = [verified(email=f"down-{i}@example.kz") for i in range(CALLS)]
    for request in requests:
        with transaction.atomic():
            service_calls_start(request=request, action="export")
    calls = ServiceCall.objects.all()
    assert calls.count() == CALLS

    # The service answers 500: the worker posts each call and retries it by itself, then stops.
    wait_for(
        lambda: not calls.filter(attempts__lt=1 + int(WORKER_ENV["SERVICE_CALL_TASK_RETRIES"])).exists(),
        timeout=120,
        message="the worker did not retry every call",
    )
    # Then its connections are refused; the sweep keeps posting.
    down.stop()
    before = dict(calls.values_list("pk", "attempts"))
    sweep_due()
    wait_for(
        lambda: all(attempts > before[pk] for pk, attempts in calls.values_list("pk", "attempts")),
        timeout=120,
        message="the sweep did not post every call again",
    )
    wait_for(lambda: not calls.filter(claimed_at__isnull=False).exists(), timeout=60, message="calls in hand")

    # The whole term passes: every request is overdue, every call still owed, flagged, none given up.
    WithdrawalRequest.objects.update(due_at=timezone.now() - timedelta(hours=1))
    assert not calls.exclude(state="queued").exists()
    assert {call.pk for call in service_calls_unanswered()} == set(calls.values_list("pk", flat=True))
    assert calls.filter(last_error__icontains="refused").count() == CALLS
    assert unrecorded_attempts() == []
    assert (
        sum(calls_posted(down, "down").values()) == ServiceCallAttempt.objects.filter(status_code=500).count()
    )
    attempts_while_down = ServiceCallAttempt.objects.count()

    # The service is back: each call is answered, once.
    down.mode = "now"
    down.start()
    deadline = time.monotonic() + 180
    while calls.exclude(state="done").exists() and time.monotonic() < deadline:
        sweep_due()
        time.sleep(2)
    assert not calls.exclude(state="done").exists(), "not every call was answered after recovery"
    time.sleep(3)  # anything posted again would arrive now
    sweep_due()
    time.sleep(2)
    worker.stop()

    posted_after = calls_posted(down, "now")
    duplicates = sum(count - 1 for count in posted_after.values() if count > 1)
    call_ids = {str(call_id) for call_id in calls.values_list("call_id", flat=True)}
    lost = len(call_ids - set(posted_after))
    record(
        "service-down",
        done=f"{CALLS} export calls to a service answering 500s, then refusing, past the term; back, swept",
        filed=CALLS,
        stored=calls.count(),
        sent=calls.filter(state="done").count(),
        duplicates=duplicates,
        lost=lost,
        errors_5xx=0,
    )
    assert duplicates == 0 and lost == 0
    assert set(posted_after) == call_ids
    assert set(down.answers) == call_ids  # each call applied once in the service's store
    done_events = Counter(
        AuditEvent.objects.filter(action="service_call.done").values_list("target_id", flat=True)
    )
    assert set(done_events.values()) == {1} and len(done_events) == CALLS
    assert ServiceCallAttempt.objects.filter(status_code=200).count() == CALLS
    assert ServiceCallAttempt.objects.count() >= attempts_while_down + CALLS
    assert unrecorded_attempts() == []
    assert not service_calls_unanswered().exists()
    for call in calls.all():
        assert call.result["profile"]["email"] == call.request.email
