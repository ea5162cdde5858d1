from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import OutboxEmail
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def queue(key="k1", **overrides):
    kwargs = {
        "to": "a@example.kz",
        "template": "password_reset",
        "context": {"full_name": "Aigul", "reset_path": "/accounts/reset/x/y/"},
        "language": "en",
        "dedup_key": key,
    }
    return services.outbox_email_queue(**{**kwargs, **overrides})


def test_queue_writes_row_and_delivery_waits_for_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = queue()
    assert email.status == OutboxEmail.Status.PENDING
    assert len(callbacks) == 1


def test_same_dedup_key_queues_nothing_new(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = queue()
        second = queue(to="other@example.kz")
    assert first is not None and second is None
    assert OutboxEmail.objects.count() == 1
    assert len(callbacks) == 1


def test_queue_rolled_back_with_its_transaction_leaves_nothing(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        queue()
        raise RuntimeError("the change failed")
    assert not OutboxEmail.objects.exists()
    assert callbacks == []


def test_deliver_sends_text_and_html_in_recipient_language_once():
    email = queue(language="en", reply_to="someone@example.kz")
    services.outbox_emails_deliver(email_ids=[email.pk])
    services.outbox_emails_deliver(email_ids=[email.pk])
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Reset your Alilo password"
    assert message.to == ["a@example.kz"] and message.reply_to == ["someone@example.kz"]
    assert "http://testserver/accounts/reset/x/y/" in message.body
    html = message.alternatives[0][0]
    assert "Aigul" in html and "Talli Distribution" in html
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 1 and email.sent_at


def test_html_part_escapes_context_values():
    email = queue(context={"full_name": "<script>alert(1)</script>", "reset_path": "/x/"})
    services.outbox_emails_deliver(email_ids=[email.pk])
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


@override_settings(EMAIL_BACKEND="tests.notifications.failing_backend.EmailBackend", OUTBOX_MAX_ATTEMPTS=3)
def test_provider_failure_keeps_row_pending_with_backoff_then_gives_up():
    email = queue()
    assert services.outbox_emails_deliver(email_ids=[email.pk])["retry"] == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING
    assert email.attempts == 1 and "provider is down" in email.last_error
    assert email.next_attempt_at > timezone.now()

    # not due yet: nothing happens
    assert services.outbox_emails_deliver(email_ids=[email.pk])["claimed"] == 0
    email.refresh_from_db()
    assert email.attempts == 1

    OutboxEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    assert services.outbox_emails_deliver(email_ids=[email.pk])["retry"] == 1
    OutboxEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    services.outbox_emails_deliver(email_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.FAILED and email.attempts == 3


def test_backoff_grows_and_is_capped():
    assert services._backoff(1) == timedelta(seconds=30)
    assert services._backoff(2) == timedelta(seconds=60)
    assert services._backoff(30) == timedelta(hours=6)


def test_sweep_requeues_due_rows_and_fails_rows_left_mid_send(monkeypatch):
    queued = []
    monkeypatch.setattr("apps.notifications.tasks.outbox_deliver_batch.delay", lambda ids: queued.append(ids))
    old = timezone.now() - timedelta(minutes=30)
    due = queue("due")
    later = queue("later")
    stuck = queue("stuck")
    fresh = queue("fresh")
    OutboxEmail.objects.filter(pk__in=[due.pk, later.pk, stuck.pk]).update(created_at=old)
    OutboxEmail.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    OutboxEmail.objects.filter(pk=stuck.pk).update(status="sending", claimed_at=old)

    result = services.outbox_sweep()

    assert result == {"requeued": 1, "stuck": 1}
    assert queued == [[due.pk]]
    stuck.refresh_from_db()
    assert stuck.status == OutboxEmail.Status.FAILED and "not resent" in stuck.last_error
    fresh.refresh_from_db()
    assert fresh.status == OutboxEmail.Status.PENDING


def test_broker_down_at_commit_does_not_break_the_request(monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("apps.notifications.tasks.outbox_deliver_batch.delay", broken)
    with django_capture_on_commit_callbacks(execute=True):
        email = queue()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING


def test_staff_resend_puts_failed_row_back_and_is_audited(django_capture_on_commit_callbacks):
    from apps.audit.models import AuditEvent

    staff = UserFactory(is_staff=True)
    email = queue()
    OutboxEmail.objects.filter(pk=email.pk).update(status="failed", attempts=8)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.outbox_email_resend(email=email, actor=staff)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING and email.attempts == 0
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(action="outbox.resend", target_id=str(email.pk), actor=staff).exists()


@override_settings(EMAIL_BACKEND="anymail.backends.test.EmailBackend")
def test_provider_message_id_is_stored_whatever_its_type():
    email = queue()
    services.outbox_emails_deliver(email_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.provider_message_id


def test_a_batch_written_again_keeps_the_rows_there_and_sends_each_once():
    def batch():
        return [
            services.outbox_email_build(
                to=f"{name}@example.kz",
                template="password_reset",
                context={"full_name": name, "reset_path": f"/accounts/reset/{name}/y/"},
                language="en",
                dedup_key=f"batch:{name}",
            )
            for name in ("aigul", "bolat")
        ]

    first = services.outbox_emails_queue(emails=batch())
    services.outbox_emails_deliver(email_ids=[email.pk for email in first])
    again = batch()
    again[0].context = {"full_name": "changed", "reset_path": "/changed/"}
    second = services.outbox_emails_queue(emails=again)
    assert [email.pk for email in second] == [email.pk for email in first]
    assert OutboxEmail.objects.count() == 2
    assert OutboxEmail.objects.get(dedup_key="batch:aigul").context["full_name"] == "aigul"
    services.outbox_emails_deliver(email_ids=[email.pk for email in second])
    assert len(mail.outbox) == 2
