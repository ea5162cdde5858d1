"""The ESP tracking webhook (Postmark) records delivery reports on outbox rows, its secret checked."""

import base64
import json
import urllib.error
import urllib.request

import pytest
from django.urls import reverse

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_tracking_record
from tests.accounts.factories import StaffFactory, UserFactory

SECRET = "hook:Long-Random-Secret-7"
WEBHOOK = "/anymail/postmark/tracking/"


def _row(message_id: str, user=None, **fields) -> OutboxEmail:
    return OutboxEmail.objects.create(
        dedup_key=f"test:{message_id}",
        template="password_reset",
        to="a@example.kz",
        language="kk",
        status=OutboxEmail.Status.SENT,
        provider_message_id=message_id,
        user=user,
        **fields,
    )


def _bounce(message_id: str) -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": message_id,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "a@example.kz",
        "BouncedAt": "2026-11-26T16:00:00Z",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Reset your Alilo password",
    }


def _post(url: str, payload: dict, credentials: str | None) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_real_http_post_with_the_secret_records_a_bounce_and_without_it_changes_nothing(
    live_server, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    row = _row("pm-1")
    url = live_server.url + WEBHOOK

    assert _post(url, _bounce("pm-1"), None) in (400, 403)
    assert _post(url, _bounce("pm-1"), "hook:wrong") in (400, 403)
    row.refresh_from_db()
    assert row.tracking_status == ""

    assert _post(url, _bounce("pm-1"), SECRET) == 200
    row.refresh_from_db()
    assert row.tracking_status == OutboxEmail.Tracking.BOUNCED
    assert "mailbox not found" in row.tracking_detail


@pytest.mark.django_db
def test_delivery_and_complaint_reports_via_the_webhook(client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}
    delivered, complained = _row("pm-d"), _row("pm-c")
    client.post(
        WEBHOOK,
        {
            "RecordType": "Delivery",
            "MessageID": "pm-d",
            "Recipient": "a@example.kz",
            "DeliveredAt": "2026-11-26T16:00:00Z",
            "Details": "Test delivery",
        },
        content_type="application/json",
        **auth,
    )
    client.post(
        WEBHOOK,
        {
            "RecordType": "SpamComplaint",
            "Type": "SpamComplaint",
            "MessageID": "pm-c",
            "Email": "a@example.kz",
            "BouncedAt": "2026-11-26T16:00:00Z",
            "ID": 1,
        },
        content_type="application/json",
        **auth,
    )
    delivered.refresh_from_db()
    complained.refresh_from_db()
    assert delivered.tracking_status == OutboxEmail.Tracking.DELIVERED
    assert complained.tracking_status == OutboxEmail.Tracking.COMPLAINED


@pytest.mark.django_db
def test_opens_and_unknown_messages_change_nothing(client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}
    row = _row("pm-o")
    response = client.post(
        WEBHOOK,
        {
            "RecordType": "Open",
            "MessageID": "pm-o",
            "Recipient": "a@example.kz",
            "ReceivedAt": "2026-11-26T16:00:00Z",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200
    response = client.post(WEBHOOK, _bounce("not-ours"), content_type="application/json", **auth)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.tracking_status == ""


@pytest.mark.django_db
def test_a_late_delivered_report_does_not_hide_a_bounce():
    row = _row("pm-x")
    assert outbox_tracking_record(provider_message_id="pm-x", status="bounced", detail="550") == 1
    assert outbox_tracking_record(provider_message_id="pm-x", status="delivered") == 0
    row.refresh_from_db()
    assert (row.tracking_status, row.tracking_detail) == ("bounced", "550")
    assert outbox_tracking_record(provider_message_id="pm-x", status="complained", detail="spam") == 1
    row.refresh_from_db()
    assert row.tracking_status == "complained"


@pytest.mark.django_db
def test_staff_see_a_users_bounced_emails_on_the_user_page(client):
    user = UserFactory(email="a@example.kz")
    _row("pm-b", user=user, tracking_status="bounced", tracking_detail="postmark — mailbox not found")
    _row("pm-ok", user=user, tracking_status="delivered", tracking_detail="delivered fine")
    client.force_login(StaffFactory(language="en"))
    response = client.get(reverse("admin:accounts_user_change", args=[user.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "undelivered emails (bounces and complaints)" in html.lower()
    assert "postmark — mailbox not found" in html
    assert "delivered fine" not in html


@pytest.mark.django_db
def test_mailgun_reports_need_a_valid_signature(client, settings):
    import hashlib
    import hmac
    import time

    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": "sign-key",
    }
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}
    row = _row("<mg-1@mg.alilo.kz>")
    timestamp, token = str(int(time.time())), "a" * 50

    def payload(signature: str) -> dict:
        return {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": {
                "event": "failed",
                "severity": "permanent",
                "id": "evt-1",
                "timestamp": float(timestamp),
                "recipient": "a@example.kz",
                "reason": "bounce",
                "message": {"headers": {"message-id": "mg-1@mg.alilo.kz"}},
                "delivery-status": {"code": 550, "message": "No such user", "description": ""},
            },
        }

    forged = client.post(
        "/anymail/mailgun/tracking/", payload("0" * 64), content_type="application/json", **auth
    )
    assert forged.status_code == 400
    row.refresh_from_db()
    assert row.tracking_status == ""

    good = hmac.new(b"sign-key", (timestamp + token).encode(), hashlib.sha256).hexdigest()
    signed = client.post("/anymail/mailgun/tracking/", payload(good), content_type="application/json", **auth)
    assert signed.status_code == 200
    row.refresh_from_db()
    assert row.tracking_status == OutboxEmail.Tracking.BOUNCED
