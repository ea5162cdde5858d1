"""Service calls: started once per request and action, posted signed, answered now or later, retried with a
growing wait, never posted again after a final answer, done by hand, erased."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.connectors import selectors
from apps.connectors.models import ServiceCall, ServiceCallAttempt
from apps.connectors.reference_service import signature_valid
from apps.connectors.services import (
    service_call_attempt,
    service_call_backoff,
    service_call_mark_done,
    service_calls_personal_data_erase,
    service_calls_start,
    service_calls_sweep,
)
from tests.accounts.factories import StaffFactory
from tests.connectors.factories import ConnectedServiceFactory
from tests.withdrawals.factories import verified

pytestmark = pytest.mark.django_db

finished: list[tuple[int, str]] = []


def record_finished(*, call):
    """A SERVICE_CALL_RECEIVERS receiver for the tests."""
    finished.append((call.pk, call.state))


@pytest.fixture(autouse=True)
def _receiver(settings):
    finished.clear()
    settings.SERVICE_CALL_RECEIVERS = ["tests.connectors.test_services.record_finished"]


@pytest.fixture
def request_(db):
    return verified(email="aigerim@example.kz")


def start(request_, action="export", **kwargs):
    with transaction.atomic():
        return service_calls_start(request=request_, action=action, **kwargs)


def test_start_makes_one_call_per_active_service_that_can_do_the_action(request_):
    exporter = ConnectedServiceFactory(name="Shop", actions=["export", "destroy"])
    ConnectedServiceFactory(name="Blocks only", actions=["block"])
    ConnectedServiceFactory(name="Retired", actions=["export"], active=False)
    calls = start(request_)
    assert [(call.service, call.action, call.state) for call in calls] == [(exporter, "export", "queued")]
    body = json.loads(calls[0].body)
    assert body["call"] == str(calls[0].call_id)
    assert body["action"] == "export"
    assert body["request"]["reference"] == request_.reference
    assert body["person"]["email"] == "aigerim@example.kz"
    assert body["person"]["phone"] == "+77011234567"
    assert body["callback_url"].endswith(f"/connectors/callback/{calls[0].call_id}/")
    assert AuditEvent.objects.filter(action="service_call.start", target_id=str(calls[0].pk)).count() == 1


def test_starting_again_makes_nothing_new(request_, django_capture_on_commit_callbacks):
    ConnectedServiceFactory(actions=["export"])
    with django_capture_on_commit_callbacks() as first:
        calls = start(request_)
    with django_capture_on_commit_callbacks() as second:
        again = start(request_)
    assert [call.pk for call in again] == [call.pk for call in calls]
    assert ServiceCall.objects.count() == 1
    assert len(first) == 1 and second == []
    assert AuditEvent.objects.filter(action="service_call.start").count() == 1


def test_a_correction_reaches_only_the_services_holding_a_changed_field(request_):
    phones = ConnectedServiceFactory(name="Phones", fields=["phone", "email"], actions=["correct"])
    ConnectedServiceFactory(name="Searches", fields=["search_history"], actions=["correct"])
    changes = [
        {"field": "phone", "value": "+77019998877", "old": "+77011234567"},
        {"field": "full_name", "value": "A"},
    ]
    calls = start(request_, action="correct", changes=changes)
    assert [call.service for call in calls] == [phones]
    assert calls[0].changes == [changes[0]]
    assert json.loads(calls[0].body)["changes"] == [changes[0]]


def test_a_change_of_an_unknown_field_is_refused(request_):
    ConnectedServiceFactory(actions=["correct"])
    with pytest.raises(ValueError):
        start(request_, action="correct", changes=[{"field": "shoe_size", "value": "42"}])
    assert not ServiceCall.objects.exists()


def test_a_service_answering_now_is_done_once_with_its_data(request_, reference_service):
    (call,) = start(request_)
    assert service_call_attempt(call_pk=call.pk) is None
    call.refresh_from_db()
    assert call.state == "done" and call.is_final
    assert call.result["profile"]["email"] == "aigerim@example.kz"
    assert len(call.result["orders"]) == 2
    assert finished == [(call.pk, "done")]
    # A done call is never posted again.
    assert service_call_attempt(call_pk=call.pk) is None
    assert len(reference_service.received) == 1
    assert ServiceCallAttempt.objects.filter(call=call).count() == 1
    assert selectors.service_exports(request_.pk) == [(reference_service.service, call.result)]


def test_each_post_is_signed_with_the_services_secret(request_, reference_service):
    (call,) = start(request_)
    service_call_attempt(call_pk=call.pk)
    received = reference_service.received[0]["body"]
    assert received == call.body.encode()
    # The reference service checks the signature itself: a wrong secret is answered 401 and retried.
    reference_service.secret = "something-else"
    (blocked,) = start(request_, action="block")
    assert service_call_attempt(call_pk=blocked.pk) is not None
    blocked.refresh_from_db()
    assert blocked.state == "queued" and "401" in blocked.last_error
    assert not signature_valid("something-else", "t=1,v1=00", b"{}")


def test_a_service_answering_later_waits_for_its_callback(client, request_, reference_services):
    later = reference_services(mode="later")
    (call,) = start(request_)
    assert service_call_attempt(call_pk=call.pk) is None
    call.refresh_from_db()
    assert call.state == "waiting" and not call.is_final and finished == []
    assert later.deliver_callbacks(client) == [200]
    call.refresh_from_db()
    assert call.state == "done"
    assert call.result["profile"]["email"] == "aigerim@example.kz"
    assert finished == [(call.pk, "done")]
    kinds = list(ServiceCallAttempt.objects.filter(call=call).values_list("kind", flat=True))
    assert kinds == ["call", "callback"]


def test_a_timeout_is_retried_with_a_growing_wait(request_, reference_services, settings):
    slow = reference_services(mode="timeout", timeout_seconds=1)
    (call,) = start(request_)
    wait = service_call_attempt(call_pk=call.pk)
    assert wait == service_call_backoff(1) == timedelta(seconds=settings.SERVICE_CALL_BACKOFF_SECONDS)
    call.refresh_from_db()
    assert call.state == "queued" and call.attempts == 1
    assert "timed out" in call.last_error.lower()
    assert call.next_attempt_at > timezone.now()
    # Not due yet: nothing is posted.
    assert service_call_attempt(call_pk=call.pk) is None
    assert call.attempts == ServiceCall.objects.get(pk=call.pk).attempts
    # Due again: the second failure waits twice as long, up to the cap.
    ServiceCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    assert service_call_attempt(call_pk=call.pk) == service_call_backoff(2) == 2 * wait
    assert service_call_backoff(50) == timedelta(seconds=settings.SERVICE_CALL_BACKOFF_MAX_SECONDS)
    # The service recovers: the same call id is answered from what it did, once.
    slow.mode = "now"
    ServiceCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    assert service_call_attempt(call_pk=call.pk) is None
    call.refresh_from_db()
    assert call.state == "done" and call.attempts == 3
    assert ServiceCallAttempt.objects.filter(call=call).count() == 3
    assert finished == [(call.pk, "done")]


def test_a_service_that_cannot_do_it_fails_the_call(request_, reference_services):
    reference_services(mode="failed")
    (call,) = start(request_, action="destroy")
    service_call_attempt(call_pk=call.pk)
    call.refresh_from_db()
    assert call.state == "failed" and call.is_final
    assert "cannot" in call.message
    assert finished == [(call.pk, "failed")]


def test_marking_done_by_hand_needs_a_note_and_is_audited(request_, reference_services):
    reference_services(mode="down")
    (call,) = start(request_)
    service_call_attempt(call_pk=call.pk)
    staff = StaffFactory()
    with pytest.raises(ValidationError):
        service_call_mark_done(call=call, actor=staff, note="  ")
    service_call_mark_done(
        call=call, actor=staff, note="Exported by hand from the shop's database.", ip="198.51.100.7"
    )
    call.refresh_from_db()
    assert call.state == "done_by_hand" and call.marked_by == staff and call.answered_at
    event = AuditEvent.objects.get(action="service_call.done_by_hand")
    assert event.actor == staff and event.ip == "198.51.100.7"
    assert finished == [(call.pk, "done_by_hand")]
    with pytest.raises(ValidationError):
        service_call_mark_done(call=call, actor=staff, note="again")
    # A call done by hand is not posted again, even when its wait is over.
    ServiceCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    assert service_call_attempt(call_pk=call.pk) is None


def test_selectors_report_calls_not_answered_near_the_due_date(request_, reference_services):
    reference_services(name="Down", mode="down")
    (call,) = start(request_)
    service_call_attempt(call_pk=call.pk)
    assert selectors.service_calls_all_final(request_.pk, "export") is False
    assert not selectors.service_calls_unanswered(now=request_.due_at - timedelta(days=10)).exists()
    assert list(selectors.service_calls_unanswered(now=request_.due_at - timedelta(hours=1))) == [call]
    assert selectors.service_calls_of_request(request_.pk) == [call]
    assert selectors.service_calls_all_final(request_.pk, "destroy") is True


def test_the_sweep_posts_calls_left_by_a_dead_worker_and_silent_accepted_ones(request_, settings):
    ConnectedServiceFactory(actions=["export"])
    (call,) = start(request_)
    long_ago = timezone.now() - timedelta(hours=5)
    ServiceCall.objects.filter(pk=call.pk).update(claimed_at=long_ago)
    result = service_calls_sweep()
    assert result["stuck"] == 1 and result["requeued"] == 1
    ServiceCall.objects.filter(pk=call.pk).update(state="waiting", accepted_at=long_ago, next_attempt_at=None)
    result = service_calls_sweep()
    assert result["silent"] == 1
    assert ServiceCall.objects.get(pk=call.pk).state == "queued"


def test_erasure_clears_what_calls_carry_and_waits_for_calls_still_owed(request_, reference_services):
    done_service = reference_services(name="Answers")
    down = reference_services(name="Down", mode="down")
    calls = start(request_)
    for call in calls:
        service_call_attempt(call_pk=call.pk)
    answered, owed = sorted(calls, key=lambda call: call.service.name)
    assert service_calls_personal_data_erase(request_ids=[request_.pk]) == 2
    answered.refresh_from_db()
    owed.refresh_from_db()
    assert (answered.body, answered.result, answered.changes) == ("", {}, [])
    assert answered.personal_data_erased_at is not None
    assert not ServiceCallAttempt.objects.filter(call=answered).exclude(response_body="").exists()
    # The call still owed keeps what it must post, and is erased once answered.
    assert owed.body and owed.erase_when_final
    down.mode = "now"
    ServiceCall.objects.filter(pk=owed.pk).update(next_attempt_at=None)
    service_call_attempt(call_pk=owed.pk)
    owed.refresh_from_db()
    assert owed.state == "done" and owed.body == "" and owed.result == {}
    assert owed.personal_data_erased_at is not None
    assert service_calls_personal_data_erase(request_ids=[request_.pk]) == 0
    assert done_service.received  # it was called before the erasure


def test_a_service_whose_address_is_internal_is_never_posted_to(request_, reference_service, settings):
    """The SSRF guard holds at each attempt, not only when the URL is saved: a name may point elsewhere."""
    settings.WEBHOOK_ALLOW_ANY_ADDRESS = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    (call,) = start(request_)
    assert service_call_attempt(call_pk=call.pk) is not None
    call.refresh_from_db()
    assert reference_service.received == []
    assert call.state == "queued" and "not a public address" in call.last_error
    # The operator lists the company's own network: the service there is reached.
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    ServiceCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    assert service_call_attempt(call_pk=call.pk) is None
    assert ServiceCall.objects.get(pk=call.pk).state == "done"


def test_registering_checks_the_url_against_the_allowed_networks(settings):
    from apps.connectors.services import connected_service_create

    settings.WEBHOOK_ALLOW_ANY_ADDRESS = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    values = {"name": "Internal", "endpoint_url": "http://127.0.0.1:9/x", "actions": ["export"], "fields": []}
    with pytest.raises(ValidationError) as refused:
        connected_service_create(actor=None, **values)
    assert "endpoint_url" in refused.value.message_dict
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    service, secret = connected_service_create(actor=None, **values)
    assert service.signing_secret == secret and secret.startswith("cssec_")
