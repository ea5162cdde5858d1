import pytest
from django.urls import reverse

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_email_queue
from tests.accounts.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_outbox_is_read_only_in_admin_with_status_and_error(client):
    staff = StaffFactory()
    email = outbox_email_queue(
        to="a@example.kz", template="password_reset", context={}, language="kk", dedup_key="k"
    )
    OutboxEmail.objects.filter(pk=email.pk).update(status="failed", last_error="SMTP 550 mailbox unavailable")
    client.force_login(staff)
    changelist = client.get(reverse("admin:notifications_outboxemail_changelist"))
    assert changelist.status_code == 200 and b"a@example.kz" in changelist.content
    detail = client.get(reverse("admin:notifications_outboxemail_change", args=[email.pk]))
    assert b"SMTP 550 mailbox unavailable" in detail.content and b'name="_save"' not in detail.content
    assert client.get(reverse("admin:notifications_outboxemail_add")).status_code == 403
    response = client.post(
        reverse("admin:notifications_outboxemail_delete", args=[email.pk]), {"post": "yes"}
    )
    assert response.status_code == 403


def test_admin_action_resends_failed_email(client):
    staff = StaffFactory()
    email = outbox_email_queue(
        to="a@example.kz", template="password_reset", context={}, language="kk", dedup_key="k"
    )
    OutboxEmail.objects.filter(pk=email.pk).update(status="failed")
    client.force_login(staff)
    client.post(
        reverse("admin:notifications_outboxemail_changelist"),
        {"action": "resend", "_selected_action": [email.pk]},
    )
    email.refresh_from_db()
    assert email.status == "pending"
