"""An email address at an IP literal (`user@[127.0.0.1]`) is refused wherever an address is entered."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client

from apps.acceptances.models import Acceptance
from apps.acceptances.services import service_token_create
from apps.core.validators import validate_email_domain
from apps.notifications.models import OutboxEmail
from apps.withdrawals.models import ThirdParty, WithdrawalRequest
from tests.accounts.factories import StaffFactory
from tests.policies.factories import PolicyVersionFactory

pytestmark = pytest.mark.django_db

MESSAGE = "Enter an email address at a domain name, not at an IP address."
# Each is a valid address to Django's EmailValidator (or to the API, which takes any text).
IP_LITERALS = ["user@[127.0.0.1]", "User@[10.0.0.1]", "user@[::1]", "user@[IPv6:::1]", "user@127.0.0.1"]
ACCEPTED = ["user@example.kz", "user@xn--80ak6aa92e.com", "user@mail.alilo.kz."]


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("address", IP_LITERALS)
def test_the_validator_refuses_ip_literals(address):
    with pytest.raises(ValidationError) as refused:
        validate_email_domain(address)
    assert refused.value.code == "ip_literal"


@pytest.mark.parametrize("address", ACCEPTED)
def test_the_validator_takes_domain_names(address):
    validate_email_domain(address)


@pytest.mark.parametrize("address", IP_LITERALS[:3])
def test_withdrawal_form(client, address):
    data = {
        "full_name": "Aigerim",
        "email": address,
        "scope": "all",
        "acknowledgement": "on",
        "submission_token": str(uuid.uuid4()),
    }
    response = client.post("/privacy/withdraw/", data)
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    assert not WithdrawalRequest.objects.exists() and not OutboxEmail.objects.exists()


@pytest.mark.parametrize("address", IP_LITERALS[:3])
def test_signup(client, address):
    version = PolicyVersionFactory(published=True)
    data = {
        "full_name": "Aigerim",
        "email": address,
        "language": "en",
        "password1": "a-long-enough-passphrase",
        "password2": "a-long-enough-passphrase",
        "policy_version": str(version.number),
        "accept_policy": "on",
    }
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    assert not get_user_model().objects.exists()


def test_login_and_password_reset(client):
    response = client.post("/accounts/login/", {"username": "user@[127.0.0.1]", "password": "whatever"})
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    response = client.post("/accounts/reset/", {"email": "user@[127.0.0.1]"})
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    assert not OutboxEmail.objects.exists()


def test_third_party_and_user_in_the_admin(client):
    client.force_login(StaffFactory(language="en"))
    response = client.post(
        "/admin/withdrawals/thirdparty/add/",
        {"name": "Courier LLP", "contact_email": "dpo@[192.0.2.1]", "language": "ru", "active": "on"},
    )
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    assert not ThirdParty.objects.exists()
    response = client.post(
        "/admin/accounts/user/add/",
        {"email": "new@[192.0.2.1]", "full_name": "New", "language": "en", "usable_password": "false"},
    )
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    assert not get_user_model().objects.filter(full_name="New").exists()


@pytest.mark.parametrize("address", IP_LITERALS)
def test_api(client, address):
    version = PolicyVersionFactory(published=True)
    _token, raw = service_token_create(name="addresses")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    response = client.get("/api/v1/consent-status", {"email": address}, **auth)
    assert response.status_code == 422 and MESSAGE in response.content.decode()
    body = {"email": address, "version": version.number, "channel": "app", "language": "kk"}
    response = client.post("/api/v1/acceptances", json.dumps(body), content_type="application/json", **auth)
    assert response.status_code == 422 and MESSAGE in response.content.decode()
    assert not Acceptance.objects.exists()
