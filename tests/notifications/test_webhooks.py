"""The webhook outbox: each delivery is posted, signed, to a real receiver on loopback, retried with a growing
wait while the receiver fails, and never posted again once it answered 2xx."""

import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import WebhookAttempt, WebhookDelivery
from tests.support.servers import free_port
from tests.support.webhook_receiver import WebhookReceiver, signature_valid

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret-for-the-receiver"


def queue(url: str, *, event_type: str = "consent.purposes_withdrawn", body: dict | None = None):
    event_id = uuid.uuid4()
    payload = json.dumps(body or {"id": str(event_id), "type": event_type, "user_id": 7})
    (delivery,) = services.webhook_deliveries_queue(
        deliveries=[
            services.webhook_delivery_build(
                event_id=event_id, event_type=event_type, endpoint_id=1, url=url, secret=SECRET, body=payload
            )
        ]
    )
    return delivery


def later(delivery: WebhookDelivery):
    """Travel to just after the delivery's next attempt is due."""
    delivery.refresh_from_db()
    return time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=True)


def test_a_delivery_is_posted_once_signed_with_its_exact_body():
    with WebhookReceiver() as receiver:
        delivery = queue(
            receiver.url, body={"id": "e1", "type": "agreement.ended", "user_id": 7, "name": "Әлия"}
        )

        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None

    (post,) = receiver.received
    assert post.path == "/hooks/alilo"
    assert post.body == delivery.body.encode("utf-8")
    assert json.loads(post.body)["name"] == "Әлия"
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Alilo-Event"] == "consent.purposes_withdrawn"
    assert post.headers["X-Alilo-Event-Id"] == str(delivery.event_id)
    assert signature_valid(secret=SECRET, header=post.headers["X-Alilo-Signature"], body=post.body)
    assert not signature_valid(secret="whsec_other", header=post.headers["X-Alilo-Signature"], body=post.body)
    assert not signature_valid(
        secret=SECRET, header=post.headers["X-Alilo-Signature"], body=post.body.replace(b"7", b"8")
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, "")
    assert delivery.delivered_at is not None
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")


def test_a_500_is_retried_after_a_wait_and_then_delivered_once():
    with WebhookReceiver(answers=[500, 503]) as receiver:
        delivery = queue(receiver.url)

        first_wait = services.webhook_delivery_attempt(delivery_id=delivery.pk)
        assert first_wait == timedelta(seconds=30)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
        # Not due yet: nothing is posted.
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None
        assert len(receiver.received) == 1

        with later(delivery):
            assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == timedelta(seconds=60)
        with later(delivery):
            assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None
            # Delivered: neither another attempt nor the sweep posts it again.
            assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None
            services.webhook_sweep()
        with time_machine.travel(timezone.now() + timedelta(days=1)):
            assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None

    assert len(receiver.received) == 3
    assert {post.headers["X-Alilo-Event-Id"] for post in receiver.received} == {str(delivery.event_id)}
    assert {post.body for post in receiver.received} == {delivery.body.encode()}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert list(
        WebhookAttempt.objects.filter(delivery=delivery)
        .order_by("number")
        .values_list("number", "status_code")
    ) == [(1, 500), (2, 503), (3, 200)]


def test_an_unreachable_receiver_fails_gracefully_and_is_given_up_after_the_last_attempt(settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    delivery = queue(f"http://127.0.0.1:{free_port()}/hooks")

    wait = services.webhook_delivery_attempt(delivery_id=delivery.pk)

    assert wait == timedelta(seconds=30)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "refused" in delivery.last_error.lower()
    with later(delivery):
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, None), (2, None)]
    assert all("refused" in a.error.lower() for a in attempts)
    # Given up: no more attempts.
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [(404, "HTTP 404"), (302, "HTTP 302"), (400, "HTTP 400")],
    ids=["404", "redirect", "400"],
)
def test_a_wrong_url_a_redirect_or_a_refusal_is_not_a_delivery(answer, error):
    with WebhookReceiver(answers=[answer]) as receiver:
        delivery = queue(receiver.url)
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is not None

    assert len(receiver.received) == 1  # the redirect is not followed
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("pending", error)
    assert WebhookAttempt.objects.get(delivery=delivery).status_code == answer


def test_a_url_that_is_not_http_is_never_opened():
    delivery = queue("file:///etc/passwd")

    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is not None

    delivery.refresh_from_db()
    assert delivery.status == "pending" and "Only http:// and https://" in delivery.last_error


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.2
    with WebhookReceiver(delay=1.0) as receiver:
        delivery = queue(receiver.url)
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is not None

    delivery.refresh_from_db()
    assert delivery.status == "pending" and "timed out" in delivery.last_error.lower()
    assert WebhookAttempt.objects.get(delivery=delivery).status_code is None


def test_the_sweep_posts_again_a_delivery_a_dead_worker_left_mid_post_but_never_a_delivered_one(monkeypatch):
    queued = []
    monkeypatch.setattr("apps.notifications.tasks.webhook_deliver.delay", queued.append)
    with WebhookReceiver() as receiver:
        stuck, delivered, fresh = queue(receiver.url), queue(receiver.url), queue(receiver.url)
        services.webhook_delivery_attempt(delivery_id=delivered.pk)
        long_ago = timezone.now() - timedelta(hours=1)
        WebhookDelivery.objects.filter(pk=stuck.pk).update(status="sending", attempts=1, claimed_at=long_ago)
        WebhookDelivery.objects.filter(pk__in=[stuck.pk, delivered.pk]).update(created_at=long_ago)

        result = services.webhook_sweep()

        assert result == {"requeued": 1, "stuck": 1, "failed": 0}
        assert queued == [stuck.pk]  # the fresh one is left to the task queued after its commit
        for delivery_id in queued:
            services.webhook_delivery_attempt(delivery_id=delivery_id)

    assert [post.headers["X-Alilo-Event-Id"] for post in receiver.received] == [
        str(delivered.event_id),
        str(stuck.event_id),
    ]
    assert WebhookDelivery.objects.get(pk=stuck.pk).status == "delivered"
    assert WebhookDelivery.objects.get(pk=fresh.pk).status == "pending"


def test_deliveries_are_written_with_the_change_and_posted_only_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("apps.notifications.tasks.webhook_deliver.delay", queued.append)
    with pytest.raises(RuntimeError), transaction.atomic():
        queue("http://127.0.0.1:9/")
        raise RuntimeError("the change fails")
    assert not WebhookDelivery.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue("http://127.0.0.1:9/")
        assert queued == []
    assert queued == [delivery.pk]


def test_one_delivery_per_event_and_receiver():
    event_id = uuid.uuid4()
    rows = [
        services.webhook_delivery_build(
            event_id=event_id,
            event_type="agreement.ended",
            endpoint_id=1,
            url="http://x.kz/",
            secret="s",
            body="{}",
        )
        for _ in range(2)
    ]
    services.webhook_deliveries_queue(deliveries=[rows[0]])
    services.webhook_deliveries_queue(deliveries=[rows[1]])
    assert WebhookDelivery.objects.filter(event_id=event_id).count() == 1


def test_a_failed_delivery_can_be_posted_again_by_staff_and_is_audited(settings):
    from apps.audit.models import AuditEvent
    from tests.accounts.factories import StaffFactory

    settings.WEBHOOK_MAX_ATTEMPTS = 1
    with WebhookReceiver(answers=[500]) as receiver:
        delivery = queue(receiver.url)
        services.webhook_delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == "failed"

        assert services.webhook_delivery_retry(delivery=delivery, actor=StaffFactory()) is True
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None

    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.received) == 2
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", flat=True)) == [1, 2]
    assert AuditEvent.objects.filter(action="webhook.retry", target_id=str(delivery.pk)).exists()


def test_a_url_on_an_internal_address_is_never_posted_to(settings):
    from apps.core.http import outbound_host_allowed

    settings.WEBHOOK_ALLOW_ANY_ADDRESS = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    for host in ("127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3", "[::1]", "no-such-host.invalid"):
        assert not outbound_host_allowed(host), host
    assert outbound_host_allowed("8.8.8.8")
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert outbound_host_allowed("10.1.2.3") and not outbound_host_allowed("127.0.0.1")
    # And a delivery to the portal's own host is not posted: the receiver hears nothing.
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with WebhookReceiver() as receiver:
        delivery = queue(receiver.url)
        services.webhook_delivery_attempt(delivery_id=delivery.pk)
        assert receiver.received == []
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "not a public address" in delivery.last_error
