"""A held email (a letter whose facts are still coming in) is never sent until released, collects its facts
one by one, is sent once, and an email marked to be erased loses its address and contents once sent, even
when a delivery report comes later."""

import pytest
from django.core import mail

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.notifications import services
from apps.notifications.models import OutboxEmail

pytestmark = pytest.mark.django_db


def held(key="letter", **overrides):
    email = services.outbox_email_build(
        to="person@example.kz",
        template="password_reset",
        context={"full_name": "Aigul", "reset_path": "/accounts/reset/x/y/", "services": []},
        language="en",
        dedup_key=key,
        **overrides,
    )
    return services.outbox_email_hold(email=email)


def test_a_held_email_is_not_sent_until_released(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = held()
    assert email.status == OutboxEmail.Status.HELD and callbacks == []
    assert held() is None  # the same key holds nothing new
    assert services.outbox_emails_deliver(email_ids=[email.pk])["claimed"] == 0
    services.outbox_sweep()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.HELD and mail.outbox == []

    assert services.outbox_email_held_add(dedup_key="letter", key="services", item={"name": "Shop"})
    assert services.outbox_email_held_add(dedup_key="letter", key="services", item={"name": "Maps"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        released = services.outbox_email_release(dedup_key="letter")
    assert released.status == OutboxEmail.Status.PENDING and len(callbacks) == 1
    assert released.context["services"] == [{"name": "Shop"}, {"name": "Maps"}]
    assert services.outbox_email_release(dedup_key="letter") is None
    assert not services.outbox_email_held_add(dedup_key="letter", key="services", item={"name": "Late"})
    assert services.outbox_emails_deliver(email_ids=[email.pk])["sent"] == 1


def test_an_email_to_erase_once_sent_keeps_no_address_after_sending_nor_after_a_bounce():
    email = held()
    OutboxEmail.objects.filter(pk=email.pk).update(erase_when_sent=True)
    audit_event_record(action="outbox.view", target=email)
    services.outbox_email_release(dedup_key="letter")
    services.outbox_emails_deliver(email_ids=[email.pk])
    assert mail.outbox[0].to == ["person@example.kz"]
    email.refresh_from_db()
    assert (email.status, email.to, email.context, email.reply_to) == ("sent", services.ERASED_EMAIL, {}, "")
    assert AuditEvent.objects.get(action="outbox.view").personal_erased_at is not None
    OutboxEmail.objects.filter(pk=email.pk).update(provider_message_id="msg-1")
    assert services.outbox_tracking_record(
        provider_message_id="msg-1", status="bounced", detail="550 person@example.kz unknown"
    )
    email.refresh_from_db()
    assert email.tracking_status == "bounced" and email.tracking_detail == ""


def test_an_ordinary_email_keeps_its_address_and_report():
    email = services.outbox_email_queue(
        to="a@example.kz", template="password_reset", context={}, language="en", dedup_key="plain"
    )
    services.outbox_emails_deliver(email_ids=[email.pk])
    OutboxEmail.objects.filter(pk=email.pk).update(provider_message_id="msg-2")
    services.outbox_tracking_record(provider_message_id="msg-2", status="bounced", detail="550 unknown")
    email.refresh_from_db()
    assert email.to == "a@example.kz" and email.tracking_detail == "550 unknown"
