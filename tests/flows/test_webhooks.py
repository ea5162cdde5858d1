"""Other services learn of a person's withdrawn purposes (issue 15): the Privacy officer registers a service's
webhook in the admin, a member withdraws consent to some purposes, the officer grants it, and the service's
receiver gets one signed POST (retried after its 500) while consent-status shows the purposes."""

import json
import re
from datetime import timedelta

import pytest
from celery.exceptions import Retry

from apps.acceptances.services import service_token_create
from apps.notifications.models import WebhookAttempt, WebhookDelivery
from apps.notifications.tasks import webhook_deliver, webhook_sweep
from apps.withdrawals.models import WithdrawalRequest
from tests.support.webhook_receiver import WebhookReceiver, signature_valid

from .support import Visitor, log_in_member, travel
from .test_withdrawal import officer_at_the_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_granted_partial_withdrawal_reaches_the_services_webhook_signed_and_once(policy_in_force):
    token, raw = service_token_create(name="Loyalty app")
    member, user = log_in_member("aigul@example.kz", full_name="Aigul Seitkali")
    form = member.get("/privacy/withdraw/")
    member.submit(
        form,
        has='name="submission_token"',
        scope="partial",
        purposes=["marketing", "advertising"],
        acknowledgement=None,
        reason="No more adverts, please.",
    )
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.scope == "partial"

    with WebhookReceiver(answers=[500]) as receiver:
        staff, _officer = officer_at_the_request(withdrawal)
        page = staff.get("/admin/acceptances/webhookendpoint/add/")
        page = staff.submit(page, has='name="url"', token=token.pk, url=receiver.url)
        (secret,) = re.findall(r"whsec_[\w-]{40,}", page.text)

        page = staff.get(f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/change/")
        page = staff.submit(page, action="/workflow/review/")
        page = staff.submit(page, action="/workflow/grant/", confirm="on")
        assert "Withdrawal granted." in page

        delivery = WebhookDelivery.objects.get()
        with pytest.raises(Retry):  # the receiver answered 500: the task retries later
            webhook_deliver(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == "pending"
        with travel(delivery.next_attempt_at + timedelta(seconds=1)):
            webhook_deliver(delivery.pk)
            webhook_sweep()
            webhook_deliver(delivery.pk)

    assert len(receiver.received) == 2
    post = receiver.received[-1]
    assert signature_valid(secret=secret, header=post.headers["X-Alilo-Signature"], body=post.body)
    body = json.loads(post.body)
    assert (body["type"], body["user_id"], body["id"]) == (
        "consent.purposes_withdrawn",
        user.pk,
        str(delivery.event_id),
    )
    purposes = body["consent_status"]["purposes_withdrawn"]
    assert {p["purpose"] for p in purposes} == {"marketing", "advertising"}
    assert {p["reference"] for p in purposes} == {withdrawal.reference}
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert list(WebhookAttempt.objects.order_by("number").values_list("status_code", flat=True)) == [500, 200]

    status = Visitor().client.get(
        "/api/v1/consent-status", {"user_id": user.pk}, headers={"authorization": f"Bearer {raw}"}
    )
    assert status.status_code == 200
    assert [p["purpose"] for p in status.json()["purposes_withdrawn"]] == [p["purpose"] for p in purposes]
    mine = member.get("/privacy/me/")
    assert "Marketing activities" in mine and withdrawal.reference in mine
