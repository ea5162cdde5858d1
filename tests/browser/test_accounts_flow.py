import pytest
from django.contrib.auth import get_user_model

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_visitor_signs_up_logs_out_logs_in_and_switches_language(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "kk"

    page.get_by_role("button", name="EN").click()
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Full name").fill("Aigul Serikkyzy")
    page.get_by_label("Email").fill("aigul@example.kz")
    page.get_by_label("Phone (optional)").fill("+7 701 234 5678")
    page.locator("#id_language").select_option("en")
    page.locator("#id_password1").fill("a-long-Secret-42")
    page.locator("#id_password2").fill("a-long-Secret-42")
    for checkbox in page.locator("form.form input[type=checkbox]").all():
        checkbox.check()
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url("**/accounts/")
    assert page.get_by_role("heading", name="My account").is_visible()
    user = get_user_model().objects.get(email="aigul@example.kz")
    assert str(user.phone) == "+77012345678"

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").first.click()
    page.locator("#id_username").fill("aigul@example.kz")
    page.locator("#id_password").fill("a-long-Secret-42")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url("**/accounts/")

    page.get_by_role("button", name="RU").click()
    assert page.locator("html").get_attribute("lang") == "ru"
    user.refresh_from_db()
    assert user.language == "ru"
