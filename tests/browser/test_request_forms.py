"""Real Chromium, in Kazakh and in Russian, on a phone: a visitor files each type of request from the menu,
the page that asks what they want to do and its form; a mistake gets the GOV.UK error summary; then the
request is sent, confirmed from the emailed link and followed on its page. The steps go by the pages'
structure (links, ids), so they hold in any language."""

import re

import pytest
from django.core import mail

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals.models import WithdrawalRequest
from tests.browser.support import axe_violations, sideways_overflow
from tests.browser.test_public_experience import PHONE, _assert_error_pattern, _set_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PREFIX = {"access": "AR", "correction": "CR", "blocking": "BR", "destruction": "DR", "objection": "OR"}


def _mistake(page, request_type) -> list[str]:
    """Fill the form leaving out (or getting wrong) what its type needs; return the fields in error."""
    if request_type == "access":
        page.locator("#id_email").fill("not-an-address")
        return ["id_email"]
    page.locator("#id_email").fill("someone@example.kz")
    return {
        "correction": ["id_correction_1_field"],
        "blocking": ["id_grounds_0"],
        "destruction": ["id_grounds_0", "id_acknowledgement"],
        "objection": ["id_decision", "id_reason"],
    }[request_type]


def _answer(page, request_type, email) -> None:
    page.locator("#id_email").fill(email)
    if request_type == "access":
        page.locator("#id_question").fill("Кімге берілді? Кому передали?")
    elif request_type == "correction":
        page.locator("#id_correction_1_field").select_option("phone")
        page.locator("#id_correction_1_correct").fill("+7 701 765 4321")
        page.locator(".rq-more > summary").click()
        page.locator("#id_correction_2_field").select_option("postal_address")
        page.locator("#id_correction_2_current").fill("Абай 1")
        page.locator("#id_correction_2_correct").fill("Абай 10")
    elif request_type == "blocking":
        page.locator("#id_grounds_1").check()
        page.locator("#id_reason").fill("Деректерімді жарнамашыларға береді.")
    elif request_type == "destruction":
        page.locator("#id_grounds_0").check()
        page.locator("#id_acknowledgement").check()
    else:
        page.locator("#id_decision").fill("Заказ отклонён автоматически.")
        page.locator("#id_reason").fill("Я оплатил вовремя.")


def _confirm_path() -> str:
    row = OutboxEmail.objects.filter(template="withdrawal_confirm").latest("id")
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[row.pk])
    return re.search(r"https?://[^/\s]+(/privacy/requests/confirm/\S+/)", mail.outbox[0].body).group(1)


@pytest.mark.parametrize("request_type", ["access", "correction", "blocking", "destruction", "objection"])
@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_visitor_files_each_type_in_kazakh_and_russian(page, live_server, language, request_type):
    _set_language(page, live_server, language)
    page.set_viewport_size(PHONE)
    page.goto("/")
    page.locator(".site-nav a[href='/privacy/requests/']").click()
    page.wait_for_url("**/privacy/requests/")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator(".rq-option").count() == 6
    page.locator(f".rq-option a[href='/privacy/requests/{request_type}/']").click()
    page.wait_for_url(f"**/privacy/requests/{request_type}/")

    page.locator("#id_full_name").fill("Айгерім Нұрланқызы")
    fields = _mistake(page, request_type)
    page.locator("form.rq-form button[type=submit]").click()
    page.wait_for_load_state()
    _assert_error_pattern(page, language, fields=fields)
    assert axe_violations(page) == []
    assert sideways_overflow(page) == 0
    assert not WithdrawalRequest.objects.exists()

    email = f"{request_type}-{language}@example.kz"
    _answer(page, request_type, email)
    page.locator("form.rq-form button[type=submit]").click()
    page.wait_for_url("**/privacy/requests/sent/")
    assert page.get_by_text(email).is_visible()
    withdrawal = WithdrawalRequest.objects.get()
    assert (withdrawal.request_type, withdrawal.status, withdrawal.language) == (
        request_type,
        "unverified",
        language,
    )

    page.goto(_confirm_path())
    assert page.locator("dl.facts").is_visible() and axe_violations(page) == []
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/privacy/requests/status/**")
    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted" and withdrawal.reference.startswith(PREFIX[request_type])
    assert withdrawal.reference in page.locator("h1").inner_text()
    assert page.locator(".wd-timeline li").count() == 2
    assert axe_violations(page) == []
