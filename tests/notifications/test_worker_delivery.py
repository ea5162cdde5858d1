"""A real Celery worker, the real Redis broker and an email provider on loopback."""

import pytest
from django.db import transaction
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import OutboxEmail
from tests.support.servers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def queue(key):
    with transaction.atomic():
        return services.outbox_email_queue(
            to=f"{key}@example.kz",
            template="password_reset",
            context={"full_name": "Aigul", "reset_path": "/accounts/reset/a/b/"},
            language="kk",
            dedup_key=key,
        )


def status_of(email):
    email.refresh_from_db()
    return email.status


def test_worker_delivers_outbox_email_once_through_the_provider(celery_worker_factory, fake_esp):
    celery_worker_factory(fake_esp.environ())
    email = queue("once")
    wait_for(lambda: status_of(email) == OutboxEmail.Status.SENT)
    assert len(fake_esp.sent_to("once@example.kz")) == 1
    email.refresh_from_db()
    assert email.provider_message_id == fake_esp.received[0]["MessageID"]
    assert "HtmlBody" in fake_esp.received[0] and "TextBody" in fake_esp.received[0]


def test_delivery_task_run_twice_sends_once(celery_worker_factory, fake_esp):
    from apps.notifications.tasks import outbox_deliver, outbox_deliver_batch

    celery_worker_factory(fake_esp.environ(), concurrency=2)
    email = queue("twice")  # the first delivery task is queued on commit
    outbox_deliver.delay(email.pk)
    outbox_deliver_batch.delay([email.pk, email.pk])
    wait_for(lambda: status_of(email) == OutboxEmail.Status.SENT)
    wait_for(lambda: not _queue_length(), timeout=20)
    assert len(fake_esp.sent_to("twice@example.kz")) == 1
    email.refresh_from_db()
    assert email.attempts == 1


def test_provider_failure_is_retried_by_the_sweep_after_backoff(celery_worker_factory, fake_esp):
    from apps.notifications.tasks import outbox_sweep

    fake_esp.failures_left = 1
    celery_worker_factory(fake_esp.environ())
    email = queue("retry")
    wait_for(lambda: OutboxEmail.objects.filter(pk=email.pk, attempts=1, status="pending").exists())
    email.refresh_from_db()
    assert "500" in email.last_error or "Internal error" in email.last_error
    assert fake_esp.sent_to("retry@example.kz") == []

    # time passes: the backoff is over and the beat sweep hands the row to the worker again
    past = timezone.now() - timezone.timedelta(minutes=5)
    OutboxEmail.objects.filter(pk=email.pk).update(next_attempt_at=past, created_at=past)
    outbox_sweep.delay()
    wait_for(lambda: status_of(email) == OutboxEmail.Status.SENT)
    assert len(fake_esp.sent_to("retry@example.kz")) == 1
    email.refresh_from_db()
    assert email.attempts == 2


def _queue_length() -> int:
    from config.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.client.llen("celery")
