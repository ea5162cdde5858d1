"""Changes of consent reach the services' webhooks: a granted partial or full withdrawal, an ended agreement,
an erased account and a new acceptance each owe every active endpoint one signed POST, written with the
change, carrying the user's consent status as it is after the change."""

import json
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.acceptances import services
from apps.acceptances.models import WebhookEndpoint
from apps.accounts.services import retention_erase_expired, user_agreement_end, user_purposes_withdraw
from apps.audit.models import AuditEvent
from apps.notifications.models import WebhookDelivery
from apps.notifications.services import webhook_delivery_attempt
from apps.withdrawals import services as withdrawal_services
from tests.accounts.factories import StaffFactory, UserFactory
from tests.support.webhook_receiver import WebhookReceiver, signature_valid
from tests.withdrawals.factories import in_review

from .conftest import publish

pytestmark = pytest.mark.django_db


def endpoint(name: str, url: str = "https://shop.example.kz/hooks/alilo", **kwargs):
    token, _raw = services.service_token_create(name=name)
    return services.webhook_endpoint_create(token=token, url=url, **kwargs)


def bodies(**filters) -> list[dict]:
    return [json.loads(d.body) for d in WebhookDelivery.objects.filter(**filters).order_by("pk")]


def test_a_granted_partial_withdrawal_is_posted_signed_to_every_active_endpoint_with_the_purposes():
    publish(number=1)
    user = UserFactory(email="aigul@example.kz")
    staff = StaffFactory()
    with WebhookReceiver() as shop_receiver, WebhookReceiver() as app_receiver:
        shop, shop_secret = endpoint("Shop", url=shop_receiver.url)
        app, app_secret = endpoint("App", url=app_receiver.url)
        endpoint("Old", active=False)
        revoked, _secret = endpoint("Gone")
        services.service_token_revoke(token=revoked.token)
        withdrawal = in_review(
            staff=staff, requester=user, scope="partial", purposes=["marketing", "contests"]
        )

        withdrawal = withdrawal_services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)

        deliveries = list(WebhookDelivery.objects.order_by("endpoint_id"))
        assert [d.endpoint_id for d in deliveries] == [shop.pk, app.pk]
        assert {d.event_id for d in deliveries} == {deliveries[0].event_id}
        for delivery in deliveries:
            assert webhook_delivery_attempt(delivery_id=delivery.pk) is None

    for receiver, secret in ((shop_receiver, shop_secret), (app_receiver, app_secret)):
        (post,) = receiver.received
        assert signature_valid(secret=secret, header=post.headers["X-Alilo-Signature"], body=post.body)
        body = json.loads(post.body)
        assert body["id"] == str(deliveries[0].event_id) == post.headers["X-Alilo-Event-Id"]
        assert body["type"] == "consent.purposes_withdrawn" and body["user_id"] == user.pk
        decided = withdrawal.decided_at
        assert datetime.fromisoformat(body["time"]) == decided.replace(
            microsecond=decided.microsecond // 1000 * 1000
        )
        status = body["consent_status"]
        assert [(p["purpose"], p["reference"]) for p in status["purposes_withdrawn"]] == [
            ("marketing", withdrawal.reference),
            ("contests", withdrawal.reference),
        ]
        assert status["all_purposes_withdrawn"] is False and status["agreement_status"] == "active"
        assert status["consent_withdrawn_at"] is None and status["user_id"] == user.pk
        assert status["current_version"]["number"] == 1


def test_a_granted_full_withdrawal_posts_consent_withdrawn_then_agreement_ended():
    user, staff = UserFactory(), StaffFactory()
    endpoint("Shop")
    withdrawal = in_review(staff=staff, requester=user)

    withdrawal_services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)

    consent, agreement = bodies()
    assert (consent["type"], agreement["type"]) == ("consent.withdrawn", "agreement.ended")
    assert consent["consent_status"]["all_purposes_withdrawn"] is True
    assert consent["consent_status"]["purposes_withdrawn"][0]["purpose"] == "all"
    assert consent["consent_status"]["purposes_withdrawn"][0]["reference"] == withdrawal.reference
    assert agreement["consent_status"]["agreement_status"] == "ended"


def test_nothing_is_posted_when_nothing_changed_or_no_endpoint_is_registered():
    user = UserFactory()
    user_purposes_withdraw(user=user, purposes=["marketing"], reference="WR-2026-000001")
    assert not WebhookDelivery.objects.exists()  # no endpoint yet

    endpoint("Shop")
    assert user_purposes_withdraw(user=user, purposes=["marketing"], reference="WR-2026-000002") == []
    assert user_agreement_end(user=user) is True
    assert user_agreement_end(user=user) is False
    assert [body["type"] for body in bodies()] == ["agreement.ended"]


def test_a_change_that_rolls_back_leaves_no_delivery():
    user = UserFactory()
    endpoint("Shop")
    with pytest.raises(RuntimeError), transaction.atomic():
        user_purposes_withdraw(user=user, purposes=["marketing"])
        raise RuntimeError("the grant fails later")
    assert not WebhookDelivery.objects.exists()


def test_an_erased_account_is_posted_with_its_erasure_and_no_purposes_left():
    user = UserFactory()
    user_purposes_withdraw(user=user, purposes=["marketing"])
    type(user).objects.filter(pk=user.pk).update(
        agreement_status="ended", agreement_ended_at=timezone.now() - timedelta(days=4 * 365)
    )
    endpoint("Shop")

    assert retention_erase_expired() == 1

    (body,) = bodies()
    assert (body["type"], body["user_id"]) == ("account.erased", user.pk)
    assert body["consent_status"]["erased_at"] is not None
    assert body["consent_status"]["purposes_withdrawn"] == []


def test_a_new_acceptance_is_posted_and_a_repeated_one_is_not():
    version = publish(number=3)
    user = UserFactory()
    endpoint("Shop")

    services.acceptance_record_explicit(user=user, version=version, language="kk", ip=None, user_agent="")
    services.acceptance_record_explicit(user=user, version=version, language="kk", ip=None, user_agent="")

    (body,) = bodies()
    assert body["type"] == "acceptance.recorded"
    assert body["consent_status"]["accepted"] is True
    assert body["consent_status"]["acceptance"]["version"] == 3


def test_the_secret_is_shown_once_stored_to_sign_and_a_new_one_re_signs_what_is_still_owed():
    endpoint_row, secret = endpoint("Shop", actor=StaffFactory())
    assert secret.startswith("whsec_") and len(secret) > 40
    assert WebhookEndpoint.objects.get().secret_prefix == secret[:12]
    user_purposes_withdraw(user=UserFactory(), purposes=["marketing"])

    new = services.webhook_endpoint_secret_rotate(endpoint=endpoint_row)

    assert new != secret and WebhookDelivery.objects.get().secret == new
    assert AuditEvent.objects.filter(action="webhook_endpoint.rotate_secret").count() == 1


def test_a_new_url_takes_what_is_still_owed_but_not_what_was_delivered():
    endpoint_row, _secret = endpoint("Shop")
    user_purposes_withdraw(user=UserFactory(), purposes=["marketing"])
    user_purposes_withdraw(user=UserFactory(), purposes=["contests"])
    first = WebhookDelivery.objects.order_by("pk").first()
    WebhookDelivery.objects.filter(pk=first.pk).update(status="delivered", delivered_at=timezone.now())

    services.webhook_endpoint_update(endpoint=endpoint_row, url="https://new.example.kz/hook", active=True)

    assert list(WebhookDelivery.objects.order_by("pk").values_list("url", flat=True)) == [
        "https://shop.example.kz/hooks/alilo",
        "https://new.example.kz/hook",
    ]
