"""The Privacy officer registers each service's webhook in the admin (the secret is shown once, a bad URL
gets a clear error and saves nothing) and reads what was posted, without ever seeing a secret."""

import re

import pytest
from django.urls import reverse

from apps.acceptances import services
from apps.acceptances.models import WebhookEndpoint
from apps.accounts.roles import PRIVACY_OFFICER, SUPPORT
from apps.accounts.services import user_purposes_withdraw
from apps.audit.models import AuditEvent
from apps.notifications.models import WebhookDelivery
from tests.accounts.factories import UserFactory
from tests.roles.conftest import member

pytestmark = pytest.mark.django_db

ADD = reverse("admin:acceptances_webhookendpoint_add")
SECRET = re.compile(r"whsec_[\w-]{40,}")


@pytest.fixture
def officer_client(client):
    client.force_login(member(PRIVACY_OFFICER, email="officer@alilo.kz"))
    return client


@pytest.fixture
def token(db):
    return services.service_token_create(name="Shop")[0]


def add(client, **data):
    return client.post(ADD, {"active": "on", **data}, follow=True, HTTP_ACCEPT_LANGUAGE="en")


def test_the_officer_registers_a_webhook_and_sees_its_secret_once(officer_client, token):
    response = add(officer_client, token=token.pk, url="https://shop.example.kz/hooks/alilo")

    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    (secret,) = SECRET.findall(response.content.decode())
    assert secret == endpoint.secret and endpoint.url == "https://shop.example.kz/hooks/alilo"
    assert endpoint.created_by.email == "officer@alilo.kz"
    assert AuditEvent.objects.filter(action="webhook_endpoint.create", target_id=str(endpoint.pk)).exists()
    change = officer_client.get(reverse("admin:acceptances_webhookendpoint_change", args=[endpoint.pk]))
    listing = officer_client.get(reverse("admin:acceptances_webhookendpoint_changelist"))
    for page in (change, listing):
        assert page.status_code == 200 and secret not in page.content.decode()
        assert endpoint.secret_prefix in page.content.decode()


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://shop.example.kz/hooks", "The webhook URL must start with https://"),
        ("not a url", "Enter a valid URL."),
        ("ftp://shop.example.kz/hooks", "The webhook URL must start with https://"),
        ("", "This field is required."),
    ],
    ids=["plain-http", "not-a-url", "ftp", "empty"],
)
def test_a_bad_url_in_production_gets_a_clear_error_and_saves_nothing(
    officer_client, token, settings, url, error
):
    settings.WEBHOOK_REQUIRE_HTTPS = True

    response = add(officer_client, token=token.pk, url=url)

    assert response.status_code == 200 and error in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_is_allowed_in_development_but_other_schemes_are_not(officer_client, token, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    refused = add(officer_client, token=token.pk, url="ftp://127.0.0.1/hooks")
    assert "The webhook URL must start with https:// or http://." in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()

    add(officer_client, token=token.pk, url="http://127.0.0.1:8001/hooks")
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:8001/hooks"


def test_the_error_is_in_the_staff_members_language(client, token, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    client.force_login(member(PRIVACY_OFFICER, email="officer@alilo.kz", language="ru"))
    response = client.post(ADD, {"token": token.pk, "url": "not a url", "active": "on"})
    assert "Введите правильный URL." in response.content.decode()


def test_a_revoked_token_or_one_with_a_webhook_already_cannot_be_chosen(officer_client, token):
    gone = services.service_token_create(name="Gone")[0]
    services.service_token_revoke(token=gone)
    taken = services.service_token_create(name="Taken")[0]
    services.webhook_endpoint_create(token=taken, url="https://taken.example.kz/hook")

    page = officer_client.get(ADD).content.decode()
    assert "Shop" in page and "Gone" not in page and ">Taken<" not in page
    response = add(officer_client, token=gone.pk, url="https://gone.example.kz/hook")
    assert "Select a valid choice" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 1


def test_a_new_secret_is_shown_once_and_signs_what_is_still_owed(officer_client, token):
    endpoint, old = services.webhook_endpoint_create(token=token, url="https://shop.example.kz/hook")
    user_purposes_withdraw(user=UserFactory(), purposes=["marketing"])

    response = officer_client.post(
        reverse("admin:acceptances_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    (new,) = SECRET.findall(response.content.decode())
    endpoint.refresh_from_db()
    assert new != old and endpoint.secret == new
    assert WebhookDelivery.objects.get().secret == new


def test_the_officer_reads_deliveries_and_attempts_but_never_a_secret_and_support_cannot(client, token):
    _endpoint, secret = services.webhook_endpoint_create(token=token, url="https://shop.example.kz/hook")
    user_purposes_withdraw(user=UserFactory(), purposes=["marketing"])
    delivery = WebhookDelivery.objects.get()
    listing = reverse("admin:notifications_webhookdelivery_changelist")
    detail = reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])

    client.force_login(member(PRIVACY_OFFICER, email="officer@alilo.kz"))
    for url in (listing, detail):
        page = client.get(url)
        assert page.status_code == 200 and secret not in page.content.decode()
        assert "consent.purposes_withdrawn" in page.content.decode()
    assert 'name="_save"' not in client.get(detail).content.decode()
    assert client.get(reverse("admin:notifications_webhookdelivery_add")).status_code == 403
    assert AuditEvent.objects.filter(
        action="admin.list", target_type="notifications.webhookdelivery"
    ).exists()

    client.force_login(member(SUPPORT, email="support@alilo.kz"))
    assert client.get(listing).status_code == 403
    assert client.get(reverse("admin:acceptances_webhookendpoint_changelist")).status_code == 403


def test_the_officer_posts_failed_deliveries_again(officer_client, token):
    services.webhook_endpoint_create(token=token, url="https://shop.example.kz/hook")
    user_purposes_withdraw(user=UserFactory(), purposes=["marketing"])
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=12)

    response = officer_client.post(
        reverse("admin:notifications_webhookdelivery_changelist"),
        {"action": "retry", "_selected_action": [delivery.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "1 delivery queued again." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
