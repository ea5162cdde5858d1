"""In a real browser, the site and the admin work under the strict Content-Security-Policy."""

import re
from base64 import b32decode

import pytest
from django_otp.oath import totp

from tests.accounts.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch_csp(page) -> list[str]:
    violations: list[str] = []

    def note(message):
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", note)
    return violations


def test_public_pages_are_styled_and_raise_no_csp_violation(page):
    violations = _watch_csp(page)
    for path in ["/", "/accounts/login/", "/accounts/signup/", "/accounts/reset/"]:
        response = page.goto(path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        # The stylesheet applied: the brand has the site's accent colour.
        assert page.eval_on_selector(".brand", "el => getComputedStyle(el).color") == "rgb(199, 50, 31)"
    assert violations == []


def test_staff_set_up_two_factor_and_use_the_admin_scripts_under_csp(page, settings):
    settings.ADMIN_REQUIRE_2FA = True
    StaffFactory(email="staff@example.kz")
    UserFactory(email="someone@example.kz")
    violations = _watch_csp(page)

    page.goto("/admin/")
    page.fill("#id_username", "staff@example.kz")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/two-factor/setup/"))
    assert page.locator("svg.qr-code").is_visible()

    secret = "".join(page.inner_text("code.secret").split())
    page.fill("#id_token", f"{totp(b32decode(secret)):06d}")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))

    # The admin's own JavaScript runs: "select all" in the change list ticks every row.
    page.goto("/admin/accounts/user/")
    page.click("#action-toggle")
    rows = page.locator("input.action-select")
    assert rows.count() == 2
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))

    page.click("text=someone@example.kz")
    page.wait_for_url(re.compile(r"/admin/accounts/user/\d+/change/"))
    page.goto("/admin/accounts/user/add/")
    assert page.locator("#id_email").is_visible()
    assert violations == []
