"""Staff enter the admin only with a TOTP second factor (ADMIN_REQUIRE_2FA), after a guided set-up."""

import re
from base64 import b32decode
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.admin_site import PortalAdminSite
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from tests.accounts.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"


@pytest.fixture(autouse=True)
def _require_2fa(settings):
    settings.ADMIN_REQUIRE_2FA = True


def _code(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def _confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_staff_without_a_device_is_led_to_the_set_up(client):
    client.force_login(StaffFactory())
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:two_factor_setup')}?next={quote(ADMIN, safe='')}"


def test_set_up_shows_a_qr_code_and_secret_and_confirms_with_a_code(client):
    staff = StaffFactory(email="staff@example.kz")
    client.force_login(staff)
    page = client.get(reverse("accounts:two_factor_setup") + "?next=/admin/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<svg width="' in html and 'class="qr-code"' in html  # drawn on the server, no script
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    secret = "".join(re.search(r'<code class="secret">([^<]+)</code>', html).group(1).split())
    assert b32decode(secret) == device.bin_key

    wrong = client.post(reverse("accounts:two_factor_setup"), {"token": "000000", "next": ADMIN})
    assert wrong.status_code == 200
    assert "token" in wrong.context["form"].errors
    assert client.get(ADMIN).status_code == 302

    with time_machine.travel(timezone.now() + timedelta(seconds=3)):  # wrong codes slow the next try
        right = client.post(reverse("accounts:two_factor_setup"), {"token": _code(device), "next": ADMIN})
    assert right.status_code == 302 and right["Location"] == ADMIN
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(ADMIN).status_code == 200
    assert AuditEvent.objects.filter(action="account.two_factor_enabled", target_id=str(staff.pk)).exists()


def test_set_up_refuses_a_code_that_is_not_six_digits(client):
    client.force_login(StaffFactory(language="en"))
    client.get(reverse("accounts:two_factor_setup"))
    response = client.post(reverse("accounts:two_factor_setup"), {"token": "12ab"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Enter the 6 digits your app shows." in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_staff_with_a_device_must_enter_a_code_each_session(client):
    staff = StaffFactory()
    device = _confirmed_device(staff)
    client.force_login(staff)
    response = client.get(ADMIN + "notifications/outboxemail/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))

    wrong = client.post(reverse("accounts:two_factor_verify"), {"token": "123456", "next": ADMIN})
    assert wrong.status_code == 200 and "token" in wrong.context["form"].errors
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        right = client.post(reverse("accounts:two_factor_verify"), {"token": _code(device), "next": ADMIN})
    assert right.status_code == 302 and right["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200

    # A new session starts without the second factor.
    client.logout()
    client.force_login(staff)
    assert client.get(ADMIN).status_code == 302


def test_a_code_cannot_be_used_twice(client):
    staff = StaffFactory()
    device = _confirmed_device(staff)
    code = _code(device)
    client.force_login(staff)
    client.post(reverse("accounts:two_factor_verify"), {"token": code, "next": ADMIN})
    client.logout()
    client.force_login(staff)
    replay = client.post(reverse("accounts:two_factor_verify"), {"token": code, "next": ADMIN})
    assert replay.status_code == 200
    assert client.get(ADMIN).status_code == 302


def test_next_after_the_second_factor_never_leaves_the_site(client):
    staff = StaffFactory()
    device = _confirmed_device(staff)
    client.force_login(staff)
    response = client.post(
        reverse("accounts:two_factor_verify"), {"token": _code(device), "next": "https://evil.example/admin/"}
    )
    assert response["Location"] == ADMIN


def test_the_admin_site_itself_refuses_an_unverified_session(rf):
    """Backstop behind the middleware: the site's own permission check wants the second factor."""
    staff = StaffFactory()
    request = rf.get(ADMIN)
    request.user = staff
    staff.is_verified = lambda: False
    assert isinstance(admin.site, PortalAdminSite)
    assert admin.site.has_permission(request) is False
    staff.is_verified = lambda: True
    assert admin.site.has_permission(request) is True


def test_other_apps_register_on_the_two_factor_site():
    assert OutboxEmail in admin.site._registry


def test_without_the_setting_staff_enter_with_a_password_only(client, settings):
    settings.ADMIN_REQUIRE_2FA = False
    client.force_login(StaffFactory())
    assert client.get(ADMIN).status_code == 200


def test_the_admin_login_page_stays_reachable(client):
    client.force_login(StaffFactory())
    assert client.get(reverse("admin:login")).status_code == 200


def test_two_factor_pages_are_for_staff_only(client):
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:two_factor_setup")).status_code == 404
    assert client.get(reverse("accounts:two_factor_verify")).status_code == 404


def test_staff_session_ends_after_the_configured_hours(client, settings):
    settings.STAFF_SESSION_HOURS = 8
    staff = StaffFactory(email="staff@example.kz")
    client.post(reverse("admin:login"), {"username": "staff@example.kz", "password": "correct-horse-battery"})
    assert client.session.get_expiry_age() == 8 * 3600
    settings.ADMIN_REQUIRE_2FA = False
    assert client.get(ADMIN).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=7, minutes=50), tick=False):
        assert client.get(ADMIN).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=8, minutes=1), tick=False):
        response = client.get(ADMIN)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert "_auth_user_id" not in client.session
    assert staff.is_staff


def test_a_customer_session_is_not_cut_after_staff_hours(client, settings):
    settings.STAFF_SESSION_HOURS = 8
    UserFactory(email="a@example.kz")
    client.post(reverse("accounts:login"), {"username": "a@example.kz", "password": "correct-horse-battery"})
    with time_machine.travel(timezone.now() + timedelta(hours=9), tick=False):
        assert client.get(reverse("accounts:account")).status_code == 200
