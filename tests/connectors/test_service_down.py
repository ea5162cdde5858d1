"""The short version of tests/reliability/test_service_down.py, without a worker: a service down for the whole
term is posted again and again (every attempt recorded, the call never given up, flagged once the request is
near its due date); when it is back, the call is answered once and never posted again."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.connectors.models import ServiceCall, ServiceCallAttempt
from apps.connectors.selectors import service_calls_all_final, service_calls_unanswered
from apps.connectors.services import service_call_attempt, service_calls_start
from tests.withdrawals.factories import verified

pytestmark = pytest.mark.django_db


def post_when_due(call) -> None:
    ServiceCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    service_call_attempt(call_pk=call.pk)


def test_a_service_down_for_the_whole_term_keeps_its_calls_and_answers_each_once(reference_services):
    down = reference_services(name="Orders", mode="down")
    requests = [verified(email=f"term-{i}@example.kz") for i in range(3)]
    calls = []
    for request in requests:
        with transaction.atomic():
            calls += service_calls_start(request=request, action="export")
    for _day in range(4):  # answering 500
        for call in calls:
            post_when_due(call)
    down.stop()
    for _day in range(4):  # refusing connections
        for call in calls:
            post_when_due(call)

    assert set(ServiceCall.objects.values_list("state", "attempts")) == {("queued", 8)}
    assert ServiceCallAttempt.objects.count() == 3 * 8
    assert Counter(ServiceCallAttempt.objects.values_list("status_code", flat=True)) == {500: 12, None: 12}
    due = min(request.due_at for request in requests)
    assert not service_calls_unanswered(now=due - timedelta(days=30)).exists()
    assert {call.pk for call in service_calls_unanswered(now=due + timedelta(days=1))} == {
        c.pk for c in calls
    }
    assert not service_calls_all_final(requests[0].pk, "export")

    down.mode = "now"
    down.start()
    for _day in range(3):
        for call in calls:
            post_when_due(call)
    assert set(ServiceCall.objects.values_list("state", "attempts")) == {("done", 9)}
    assert ServiceCallAttempt.objects.filter(status_code=200).count() == 3
    posted_now = Counter(item["body"] for item in down.received if item["mode"] == "now")
    assert sorted(posted_now.values()) == [1, 1, 1]
    assert not service_calls_unanswered(now=due + timedelta(days=1)).exists()
    assert all(service_calls_all_final(request.pk, "export") for request in requests)
