"""Public POSTs are rate-limited per address (and per email where the form has one) with a 429 page."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.notifications.models import OutboxEmail
from tests.accounts.factories import StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _one_window():
    """The limits count in fixed windows (per minute, per hour): a test that crossed a window's edge would
    start counting again. The clock stands still in the middle of a minute."""
    with time_machine.travel(datetime(2026, 11, 30, 10, 20, 30, tzinfo=UTC), tick=False):
        yield


pytestmark = pytest.mark.django_db

TOO_MANY = "Too many attempts"


def _signup(client, n, ip="198.51.100.7", **headers):
    return client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Test Person",
            "email": f"person{n}@example.kz",
            "phone": "",
            "language": "en",
            "password1": "a-long-Secret-42",
            "password2": "a-long-Secret-42",
        },
        REMOTE_ADDR=ip,
        HTTP_ACCEPT_LANGUAGE="en",
        **headers,
    )


def _assert_limited(response):
    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()
    assert response["Retry-After"] == "60"


def test_signup_is_limited_per_address(client, settings):
    settings.RATELIMIT_SIGNUP_IP = "2/m"
    for n in range(2):
        assert _signup(client, n).status_code == 302
        client.logout()
    _assert_limited(_signup(client, 3))
    assert get_user_model().objects.count() == 2
    # Another address may still sign up.
    assert _signup(client, 4, ip="203.0.113.50").status_code == 302


def test_signup_page_itself_is_not_limited(client, settings):
    settings.RATELIMIT_SIGNUP_IP = "1/m"
    for _ in range(3):
        assert client.get(reverse("accounts:signup")).status_code == 200


def test_spoofed_forwarded_for_does_not_escape_the_limit_without_a_trusted_proxy(client, settings):
    settings.RATELIMIT_SIGNUP_IP = "2/m"
    settings.TRUSTED_PROXIES = 0
    for n in range(2):
        _signup(client, n, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        client.logout()
    _assert_limited(_signup(client, 3, HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(client, settings):
    settings.RATELIMIT_SIGNUP_IP = "1/m"
    settings.TRUSTED_PROXIES = 1
    assert _signup(client, 1, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 302
    client.logout()
    assert _signup(client, 2, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.50").status_code == 302
    client.logout()
    _assert_limited(_signup(client, 3, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.50"))


def test_login_is_limited_per_address(client, settings):
    settings.RATELIMIT_LOGIN_IP = "3/m"
    for n in range(3):
        client.post(reverse("accounts:login"), {"username": f"u{n}@example.kz", "password": "x"})
    _assert_limited(
        client.post(
            reverse("accounts:login"),
            {"username": "u9@example.kz", "password": "x"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    )


def test_login_is_limited_per_email_within_one_network_only(client, settings):
    settings.RATELIMIT_LOGIN_EMAIL_NETWORK = "2/m"
    UserFactory(email="a@example.kz")
    for n in range(2):
        client.post(
            reverse("accounts:login"),
            {"username": "a@example.kz", "password": "x"},
            REMOTE_ADDR=f"192.0.2.{n}",
        )
    response = client.post(
        reverse("accounts:login"),
        {"username": "A@example.kz", "password": "correct-horse-battery"},
        REMOTE_ADDR="192.0.2.50",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    _assert_limited(response)
    assert client.get(reverse("accounts:account")).status_code == 302
    # The owner on another network is not held back by the guesses from that one.
    elsewhere = client.post(
        reverse("accounts:login"),
        {"username": "a@example.kz", "password": "correct-horse-battery"},
        REMOTE_ADDR="198.51.100.50",
    )
    assert elsewhere.status_code == 302


def test_admin_login_is_limited_too(client, settings):
    settings.RATELIMIT_LOGIN_IP = "2/m"
    StaffFactory(email="staff@example.kz")
    for _ in range(2):
        client.post(reverse("admin:login"), {"username": "staff@example.kz", "password": "x"})
    _assert_limited(
        client.post(
            reverse("admin:login"),
            {"username": "staff@example.kz", "password": "correct-horse-battery"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    )


def test_password_reset_is_limited_per_email(client, settings):
    settings.RATELIMIT_PASSWORD_RESET_EMAIL = "2/h"
    UserFactory(email="a@example.kz")
    for n in range(2):
        client.post(reverse("accounts:password_reset"), {"email": "a@example.kz"}, REMOTE_ADDR=f"192.0.2.{n}")
    OutboxEmail.objects.all().delete()
    response = client.post(
        reverse("accounts:password_reset"),
        {"email": "A@EXAMPLE.kz"},
        REMOTE_ADDR="192.0.2.77",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    _assert_limited(response)
    assert not OutboxEmail.objects.exists()


def test_password_reset_is_limited_per_address(client, settings):
    settings.RATELIMIT_PASSWORD_RESET_IP = "2/h"
    for n in range(2):
        client.post(reverse("accounts:password_reset"), {"email": f"u{n}@example.kz"})
    _assert_limited(
        client.post(reverse("accounts:password_reset"), {"email": "u9@example.kz"}, HTTP_ACCEPT_LANGUAGE="en")
    )


def test_the_429_page_is_translated(client, settings):
    settings.RATELIMIT_LOGIN_IP = "0/m"
    english = client.post(reverse("accounts:login"), {"username": "a@example.kz"}, HTTP_ACCEPT_LANGUAGE="en")
    kazakh = client.post(reverse("accounts:login"), {"username": "a@example.kz"}, HTTP_ACCEPT_LANGUAGE="kk")
    assert english.status_code == kazakh.status_code == 429
    assert '<html lang="en">' in english.content.decode()
    assert '<html lang="kk">' in kazakh.content.decode()
