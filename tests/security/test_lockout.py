"""Repeated failed log-ins lock out an email and address pair for a while, on the site and in the admin."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.accounts.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOCKED = "Log-in locked for a while"


@pytest.fixture(autouse=True)
def _axes(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)


def _login(client, email, password, ip="198.51.100.7", url=None):
    return client.post(
        url or reverse("accounts:login"),
        {"username": email, "password": password},
        REMOTE_ADDR=ip,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_correct_login_works_with_lockout_protection_on(client):
    UserFactory(email="a@example.kz")
    response = _login(client, "a@example.kz", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 200


def test_repeated_failures_lock_the_email_from_that_address_with_a_clear_message(client):
    UserFactory(email="a@example.kz")
    for _ in range(2):
        assert _login(client, "a@example.kz", "wrong").status_code == 200
    third = _login(client, "A@Example.kz", "wrong")  # the same email in another case counts too
    assert third.status_code == 429
    assert LOCKED in third.content.decode()
    assert "locked for 30 minutes" in third.content.decode()
    # Even the right password is refused while locked, and nobody is signed in.
    locked = _login(client, "a@example.kz", PASSWORD)
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert client.get(reverse("accounts:account")).status_code == 302


def test_lockout_is_per_email_and_address_pair(client):
    UserFactory(email="a@example.kz")
    UserFactory(email="b@example.kz")
    for _ in range(3):
        _login(client, "a@example.kz", "wrong", ip="198.51.100.7")
    # The same person from another network, and another account from the same network, still get in.
    assert _login(client, "a@example.kz", PASSWORD, ip="203.0.113.50").status_code == 302
    client.logout()
    assert _login(client, "b@example.kz", PASSWORD, ip="198.51.100.7").status_code == 302


def test_lockout_ends_after_the_cool_off(client):
    UserFactory(email="a@example.kz")
    for _ in range(3):
        _login(client, "a@example.kz", "wrong")
    assert _login(client, "a@example.kz", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        assert _login(client, "a@example.kz", PASSWORD).status_code == 302


def test_successful_login_resets_the_failure_count(client):
    UserFactory(email="a@example.kz")
    for _ in range(2):
        _login(client, "a@example.kz", "wrong")
    assert _login(client, "a@example.kz", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert _login(client, "a@example.kz", "wrong").status_code == 200


def test_admin_login_locks_out_too(client):
    StaffFactory(email="staff@example.kz")
    url = reverse("admin:login")
    for _ in range(3):
        _login(client, "staff@example.kz", "wrong", url=url)
    locked = _login(client, "staff@example.kz", PASSWORD, url=url)
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_lockout_counts_the_real_client_behind_a_trusted_proxy(client, settings):
    settings.TRUSTED_PROXIES = 1
    UserFactory(email="a@example.kz")
    for _ in range(3):
        client.post(
            reverse("accounts:login"),
            {"username": "a@example.kz", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
    # Another client behind the same proxy is not locked out.
    other = client.post(
        reverse("accounts:login"),
        {"username": "a@example.kz", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.50",
    )
    assert other.status_code == 302


# Anyone may post any email: guesses spread over many addresses must not lock the owner out of a new one.
LOGIN_PAGES = pytest.mark.parametrize(
    ("url_name", "factory"),
    [("accounts:login", UserFactory), ("admin:login", StaffFactory)],
    ids=["site", "admin"],
)


def _address(n: int, behind_proxy: bool) -> dict:
    """Request headers of client number n, each in a network of its own, directly or behind one proxy."""
    client = f"198.51.{n}.7" if n % 2 else f"2001:db8:{n:x}::7"
    if behind_proxy:
        return {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": f"192.0.2.200, {client}"}
    return {"REMOTE_ADDR": client}


def _post(client, url, email, password, headers):
    return client.post(url, {"username": email, "password": password}, HTTP_ACCEPT_LANGUAGE="en", **headers)


@LOGIN_PAGES
@pytest.mark.parametrize("behind_proxy", [False, True], ids=["direct", "trusted-proxy"])
def test_failures_from_fifty_addresses_do_not_lock_the_owner_out(
    client, settings, url_name, factory, behind_proxy
):
    settings.TRUSTED_PROXIES = 1 if behind_proxy else 0
    owner = factory(email="officer@example.kz")
    url = reverse(url_name)
    for n in range(1, 51):
        response = _post(client, url, owner.email, "wrong", _address(n, behind_proxy))
        assert response.status_code == 200, n
    signed_in = _post(client, url, owner.email, PASSWORD, _address(51, behind_proxy))
    assert signed_in.status_code == 302
    assert int(client.session["_auth_user_id"]) == owner.pk


@LOGIN_PAGES
def test_guessing_from_addresses_of_one_network_is_stopped(client, settings, url_name, factory):
    settings.RATELIMIT_LOGIN_EMAIL_NETWORK = "10/h"
    owner = factory(email="officer@example.kz")
    url = reverse(url_name)
    # One guess per address, so no single address reaches django-axes' limit; the /24 is counted as one place.
    answers = [
        _post(client, url, owner.email, "wrong", {"REMOTE_ADDR": f"203.0.113.{n}"}) for n in range(1, 13)
    ]
    assert [a.status_code for a in answers] == [200] * 10 + [429] * 2
    assert "Too many attempts" in answers[-1].content.decode()
    # The right password from the same network waits too, but the owner elsewhere gets in.
    assert _post(client, url, owner.email, PASSWORD, {"REMOTE_ADDR": "203.0.113.99"}).status_code == 429
    assert _post(client, url, owner.email, PASSWORD, {"REMOTE_ADDR": "198.51.100.7"}).status_code == 302


def test_guessing_from_addresses_of_one_ipv6_network_is_stopped(client, settings):
    settings.RATELIMIT_LOGIN_EMAIL_NETWORK = "3/h"
    UserFactory(email="a@example.kz")
    url = reverse("accounts:login")
    for n in range(3):
        headers = {"REMOTE_ADDR": f"2001:db8:1:2:{n:x}::1"}
        assert _post(client, url, "a@example.kz", "wrong", headers).status_code == 200
    same_network = {"REMOTE_ADDR": "2001:db8:1:2:ffff::9"}
    assert _post(client, url, "a@example.kz", "wrong", same_network).status_code == 429
    # Another /64 of the same provider is another place.
    assert _post(client, url, "a@example.kz", PASSWORD, {"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 302


def test_guessing_from_one_address_is_still_locked_out_by_the_pair(client):
    owner = UserFactory(email="a@example.kz")
    url = reverse("accounts:login")
    headers = {"REMOTE_ADDR": "203.0.113.5"}
    answers = [_post(client, url, owner.email, "wrong", headers).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert _post(client, url, owner.email, PASSWORD, headers).status_code == 429
    assert _post(client, url, owner.email, PASSWORD, {"REMOTE_ADDR": "203.0.114.5"}).status_code == 302
