"""The callback endpoint: a signed later answer ends a waiting call once; forged, stale, replayed, malformed
or hostile callbacks change nothing and never get a 5xx."""

import json
import time
import uuid

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.connectors.models import ServiceCall, ServiceCallAttempt
from apps.connectors.services import service_call_attempt, service_calls_start
from apps.core.signing import webhook_signature

pytestmark = pytest.mark.django_db

finished: list[int] = []


def record_finished(*, call):
    finished.append(call.pk)


@pytest.fixture(autouse=True)
def _receiver(settings):
    finished.clear()
    settings.SERVICE_CALL_RECEIVERS = ["tests.connectors.test_callbacks.record_finished"]


@pytest.fixture
def waiting(reference_services):
    """A call the reference service accepted (202) and owes a callback for."""
    from tests.withdrawals.factories import verified

    later = reference_services(mode="later")
    with transaction.atomic():
        (call,) = service_calls_start(request=verified(), action="export")
    service_call_attempt(call_pk=call.pk)
    call.refresh_from_db()
    assert call.state == "waiting"
    return call, later


def post(client, call, body, *, secret=None, timestamp=None, signature=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if signature is None:
        stamp = int(time.time()) if timestamp is None else timestamp
        signature = webhook_signature(
            secret=secret or call.service.signing_secret, timestamp=stamp, body=data
        )
    return client.post(
        reverse("connectors:callback", args=[call.call_id]),
        data=data,
        content_type="application/json",
        headers={"X-Alilo-Signature": signature},
    )


def unchanged(call) -> bool:
    fresh = ServiceCall.objects.get(pk=call.pk)
    return fresh.state == "waiting" and fresh.result == {} and finished == []


def done_body(call, **extra):
    return {"call": str(call.call_id), "status": "done", "data": {"orders": []}, **extra}


def test_a_signed_callback_ends_the_call_once_and_a_replay_changes_nothing(client, waiting):
    call, _later = waiting
    body = json.dumps(done_body(call, message="All exported")).encode()
    first = post(client, call, body)
    assert first.status_code == 200 and first.json() == {"result": "accepted", "state": "done"}
    call.refresh_from_db()
    assert call.state == "done" and call.result == {"orders": []} and call.message == "All exported"
    assert finished == [call.pk]
    # The very same callback again (a service retrying, or someone replaying it): accepted, ignored.
    again = post(client, call, body)
    assert again.status_code == 200 and again.json() == {"result": "ignored", "state": "done"}
    # A different answer after the final one does not replace it either.
    failed = post(client, call, {"call": str(call.call_id), "status": "failed", "message": "Oops"})
    assert failed.json()["result"] == "ignored"
    call.refresh_from_db()
    assert call.state == "done" and call.message == "All exported"
    assert finished == [call.pk]
    assert ServiceCallAttempt.objects.filter(call=call, kind="callback").count() == 1


def test_the_reference_services_own_callback_is_accepted(client, waiting):
    call, later = waiting
    assert later.deliver_callbacks(client) == [200]
    call.refresh_from_db()
    assert call.state == "done" and call.result["profile"]["email"] == call.request.email


def test_a_failed_answer_by_callback_fails_the_call(client, waiting):
    call, _later = waiting
    response = post(
        client, call, {"call": str(call.call_id), "status": "failed", "message": "No such person"}
    )
    assert response.status_code == 200
    call.refresh_from_db()
    assert call.state == "failed" and call.message == "No such person" and call.is_final


@pytest.mark.parametrize(
    ("how", "status"),
    [
        ("another secret", 401),
        ("no signature", 401),
        ("garbled signature", 401),
        ("signed an hour ago", 401),
        ("signed for another body", 401),
    ],
)
def test_a_forged_or_stale_callback_is_refused_and_changes_nothing(client, waiting, how, status):
    call, _later = waiting
    body = json.dumps(done_body(call)).encode()
    options = {
        "another secret": {"secret": "cssec_not-the-services-secret"},
        "no signature": {"signature": ""},
        "garbled signature": {"signature": "t=abc,v1=\x00zz"},
        "signed an hour ago": {"timestamp": int(time.time()) - 3600},
        "signed for another body": {
            "signature": webhook_signature(
                secret=call.service.signing_secret, timestamp=int(time.time()), body=b"{}"
            )
        },
    }[how]
    response = post(client, call, body, **options)
    assert response.status_code == status
    assert unchanged(call)


def test_an_unknown_call_is_not_found(client, waiting):
    call, _later = waiting
    response = client.post(
        reverse("connectors:callback", args=[uuid.uuid4()]), data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert unchanged(call)


def test_a_callback_naming_another_call_is_refused(client, waiting):
    call, _later = waiting
    response = post(client, call, {**done_body(call), "call": str(uuid.uuid4())})
    assert response.status_code == 400
    assert unchanged(call)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'"done"',
        b"\xff\xfe\x00",
        b'{"status": "done"',
        b"[" * 100000 + b"]" * 100000,
        json.dumps({"status": "done"}).encode(),  # no call
        json.dumps({"call": "x", "status": "done"}).encode(),
        json.dumps({"call": 5, "status": "done"}).encode(),
    ],
)
def test_malformed_bodies_are_refused_with_a_4xx(client, waiting, body):
    call, _later = waiting
    response = post(client, call, body)
    assert 400 <= response.status_code < 500
    assert unchanged(call)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "accepted"},
        {"status": "DONE"},
        {"status": None},
        {"data": []},
        {"data": "text"},
        {"message": 7},
        {"extra": "unknown key"},
    ],
)
def test_bodies_outside_the_contract_are_refused(client, waiting, change):
    call, _later = waiting
    response = post(client, call, {**done_body(call), **change})
    assert response.status_code == 400
    assert unchanged(call)


def test_numbers_no_database_stores_are_refused(client, waiting):
    call, _later = waiting
    for raw in ('{"n": NaN}', '{"n": Infinity}', '{"n": 1e400}'):
        body = f'{{"call": "{call.call_id}", "status": "done", "data": {raw}}}'.encode()
        assert post(client, call, body).status_code == 400
    assert unchanged(call)


def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(client, waiting):
    call, _later = waiting
    body = (
        f'{{"call": "{call.call_id}", "status": "done", '
        '"data": {"name\\u0000": "a\\u0000b", "odd": "\\ud800x"}, "message": "m\\u0000"}'
    ).encode()
    response = post(client, call, body)
    assert response.status_code == 200
    call.refresh_from_db()
    assert call.result == {"name\ufffd": "a\ufffdb", "odd": "\ufffdx"} and call.message == "m\ufffd"


def test_a_body_over_the_limit_is_refused(client, waiting, settings):
    call, _later = waiting
    settings.SERVICE_CALL_MAX_ANSWER_BYTES = 1000
    response = post(client, call, done_body(call, message="x" * 2000))
    assert response.status_code == 413
    assert unchanged(call)


def test_only_post_is_answered_and_no_csrf_token_is_needed(waiting):
    call, _later = waiting
    url = reverse("connectors:callback", args=[call.call_id])
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.get(url).status_code == 405
    body = json.dumps(done_body(call)).encode()
    signature = webhook_signature(secret=call.service.signing_secret, timestamp=int(time.time()), body=body)
    response = csrf_client.post(
        url, data=body, content_type="application/json", headers={"X-Alilo-Signature": signature}
    )
    assert response.status_code == 200


def test_a_foreign_charset_is_refused_before_anything_reads_the_body(client, waiting):
    call, _later = waiting
    response = client.post(
        reverse("connectors:callback", args=[call.call_id]),
        data=b"{}",
        content_type="application/json; charset=latin-1",
    )
    assert response.status_code == 400
    assert unchanged(call)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_no_signed_body_gets_a_server_error(waiting, body):
    call, _later = waiting
    client = Client(raise_request_exception=False)
    response = post(client, call, body)
    assert response.status_code < 500
    assert ServiceCall.objects.get(pk=call.pk).state == "waiting"
