"""Every public page in kk, ru and en, signed out and in, in a real browser: axe-core finds nothing, nothing
scrolls sideways at 320 CSS px nor at 200 % zoom on a 390 px phone, the markup holds together; forms follow
the GOV.UK error pattern; and the phone pictures of the README."""

import pytest
from django.core.management import call_command

from apps.acceptances import services as acceptance_services
from apps.policies.models import PolicyVersion
from apps.policies.selectors import policy_current_cache_refresh
from apps.withdrawals import selectors, services
from apps.withdrawals.models import WithdrawalRequest
from apps.withdrawals.tokens import status_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.browser.support import axe_violations, screenshot, sideways_overflow, sign_in
from tests.policies.factories import PolicyVersionFactory
from tests.withdrawals.factories import submit, verified

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ["kk", "ru", "en"]
ERROR_PREFIX = {"kk": "Қате:", "ru": "Ошибка:", "en": "Error:"}
PHONE = {"width": 390, "height": 844}
# 320 CSS px (WCAG 1.4.10 reflow), and a 390 px phone zoomed to 200 %, which leaves 195 CSS px.
NARROW_WIDTHS = [320, 195]
# The API docs (/api/v1/docs) are left out: they are django-ninja's bundled Swagger UI, a tool for the
# developers of the company's other services rather than a page of the portal; axe-core finds issues in its
# own markup and colours (no lang, contrast, nested controls, regions) that the portal cannot fix without
# forking Swagger UI.
MARKUP_CHECK = """() => {
  const problems = [];
  for (const el of document.querySelectorAll("[aria-describedby]")) {
    for (const id of el.getAttribute("aria-describedby").split(/\\s+/)) {
      if (id && !document.getElementById(id)) problems.push("aria-describedby -> missing #" + id);
    }
  }
  const headings = [...document.querySelectorAll("h1, h2, h3")].filter(h => !h.closest(".error-summary"));
  if (headings.length && headings[0].tagName !== "H1") {
    problems.push("first heading is " + headings[0].tagName);
  }
  return problems;
}"""


def _world():
    """The shipped Kazakh policy as version 1, a version 2, and a request with a status page."""
    call_command("load_shipped_policy", verbosity=0)
    PolicyVersionFactory(published=True, number=2)
    policy_current_cache_refresh()
    withdrawal = verified(email="visitor@example.kz")
    return status_token_make(withdrawal.public_id)


def _request_pages() -> list[str]:
    """The pages of the other types of request: where the person chooses, each form, the confirm page of a
    request not yet confirmed, and the status and cancel pages of a registered one (its answers shown)."""
    correction = verified(request_type="correction", email="correction@example.kz")
    token = status_token_make(correction.public_id)
    unconfirmed = submit(request_type="destruction", email="destruction@example.kz")
    return [
        "/privacy/requests/",
        *(
            f"/privacy/requests/{kind}/"
            for kind in ("access", "correction", "blocking", "destruction", "objection")
        ),
        selectors.withdrawal_confirm_path(unconfirmed),
        f"/privacy/requests/status/{token}/",
        f"/privacy/requests/status/{token}/cancel/",
    ]


def _set_language(page, live_server, language):
    page.context.add_cookies([{"name": "alilo_language", "value": language, "url": live_server.url}])


def _check_page(page, url, language, problems):
    page.set_viewport_size(PHONE)
    response = page.goto(url)
    assert response.status == 200, url
    assert page.locator("html").get_attribute("lang") == language, url
    problems += axe_violations(page)
    problems += [f"{url}: {problem}" for problem in page.evaluate(MARKUP_CHECK)]
    for width in NARROW_WIDTHS:
        page.set_viewport_size({"width": width, "height": 700})
        if (overflow := sideways_overflow(page)) > 0:
            problems.append(f"{url} at {width} px scrolls sideways by {overflow} px")


@pytest.mark.parametrize("language", LANGUAGES)
def test_public_pages_pass_axe_and_fit_small_screens_signed_out_and_in(page, live_server, client, language):
    token = _world()
    user = UserFactory(email=f"reader-{language}@example.kz", language=language)
    _set_language(page, live_server, language)
    public = [
        "/",
        "/privacy_policy/",
        "/privacy_policy/v/1/",
        "/privacy_policy/archive/",
        "/privacy_policy/diff/1/2/",
        "/privacy/withdraw/",
        f"/privacy/withdraw/status/{token}/",
        f"/privacy/withdraw/status/{token}/cancel/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/reset/",
        *_request_pages(),
    ]
    problems: list[str] = []
    for url in public:
        _check_page(page, url, language, problems)

    sign_in(page, client, live_server, user)
    _set_language(page, live_server, language)
    signed_in = [
        "/",
        "/privacy/withdraw/",
        "/accounts/",
        "/privacy/me/",
        "/accounts/password/",
        "/privacy/accept/2/",
        "/privacy/requests/",
        "/privacy/requests/correction/",
        "/privacy/requests/destruction/",
    ]
    for url in signed_in:
        _check_page(page, url, language, problems)
        if url == "/":
            assert page.locator(".policy-banner").count() == 1
    assert problems == [], "\n".join(problems)


def test_archive_and_my_privacy_tables_become_stacked_rows_on_a_phone(page, live_server, client):
    _world()
    user = UserFactory(email="rows@example.kz", language="en")
    acceptance_services.acceptance_record_explicit(
        user=user,
        version=PolicyVersion.objects.get(number=2),
        language="en",
        ip="198.51.100.1",
        user_agent="UA",
    )
    _set_language(page, live_server, "en")
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto("/privacy_policy/archive/")
    cell = page.locator("table.policy-archive tbody tr").first.locator("td").nth(1)
    assert cell.evaluate("td => getComputedStyle(td).display") == "grid"
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"Published"'
    assert page.locator("table.policy-archive thead").bounding_box()["width"] <= 1
    sign_in(page, client, live_server, user)
    page.goto("/privacy/me/")
    row = page.locator("table.acceptance-history tbody tr").first
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
    assert sideways_overflow(page) == 0
    page.set_viewport_size({"width": 1024, "height": 700})
    assert row.evaluate("tr => getComputedStyle(tr).display") == "table-row"


def _assert_error_pattern(page, language, *, fields: list[str]):
    """The summary is first in the main content, focused and in view; its links lead to the fields."""
    assert page.title().startswith(ERROR_PREFIX[language])
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.evaluate("document.querySelector('main').firstElementChild.id") == "error-summary"
    box = summary.bounding_box()
    assert 0 <= box["y"] < page.viewport_size["height"]
    hrefs = [link.get_attribute("href") for link in summary.locator("a").all()]
    assert hrefs == [f"#{name}" for name in fields]
    for href in hrefs:
        assert page.locator(href).count() == 1
    summary.locator("a").first.click()
    assert page.evaluate("document.activeElement.id") == fields[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_withdrawal_form_errors_follow_the_govuk_pattern_on_a_phone(page, live_server, language, tmp_path):
    _world()
    _set_language(page, live_server, language)
    page.set_viewport_size(PHONE)
    page.goto("/privacy/withdraw/")
    assert page.locator("form.wd-form").get_attribute("novalidate") is not None
    page.locator("form.wd-form button[type=submit]").click()
    page.wait_for_load_state()
    _assert_error_pattern(page, language, fields=["id_full_name", "id_email", "id_scope_0"])
    # Each field in error says so next to it, and is described by its message.
    email = page.locator("#id_email")
    assert email.get_attribute("aria-invalid") == "true"
    assert "id_email_error" in email.get_attribute("aria-describedby")
    assert axe_violations(page) == []
    if language == "en":
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "phone-withdrawal-form-error", tmp_path, full_page=False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_answer_cancel_and_signup_errors_come_from_the_server(page, live_server, client, language):
    token = _world()
    _set_language(page, live_server, language)
    page.set_viewport_size(PHONE)
    page.goto(f"/privacy/withdraw/status/{token}/cancel/")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    _assert_error_pattern(page, language, fields=["id_confirm"])

    page.goto("/accounts/signup/")
    label = page.locator("label[for=id_accept_policy]").inner_text().strip()
    assert not label.endswith(":")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.title().startswith(ERROR_PREFIX[language])
    assert "#id_accept_policy" in [a.get_attribute("href") for a in page.locator("#error-summary a").all()]
    assert axe_violations(page) == []


def test_answer_form_on_the_status_page_and_the_pictures(page, live_server, client, tmp_path):
    token = _world()
    withdrawal = WithdrawalRequest.objects.get()
    staff = StaffFactory(email="officer@alilo.kz")
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Which account?")
    _set_language(page, live_server, "en")
    page.set_viewport_size(PHONE)
    page.goto("/")
    screenshot(page, "phone-home", tmp_path)
    page.goto("/privacy_policy/")
    screenshot(page, "phone-policy", tmp_path, full_page=False)
    page.goto(f"/privacy/withdraw/status/{token}/")
    assert page.locator("form[action$='/answer/']").get_attribute("novalidate") is not None
    screenshot(page, "phone-status", tmp_path)
    page.locator("form[action$='/answer/'] button[type=submit]").click()
    page.wait_for_load_state()
    _assert_error_pattern(page, "en", fields=["id_answer"])
    assert withdrawal.timeline.filter(kind="information_provided").count() == 0
