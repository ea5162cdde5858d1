"""Real Chromium, a staff member working in Kazakh or Russian: a correction, a blocking, a destruction and
an objection, each filed by a member through the submit service (as the form does), taken into review and
granted in the admin, with the reference connected service answering; the effects are checked where others
see them (the account, consent-status, the outbox and the closing letter). Selectors are structural, so the
test reads the same in every language; the page itself must say it is in the staff member's language and
pass axe-core."""

import pytest
from django.core import mail
from django.urls import reverse

from apps.acceptances import services as acceptance_services
from apps.accounts.roles import PRIVACY_OFFICER
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt
from apps.notifications.models import OutboxEmail
from apps.notifications.services import ERASED_EMAIL, outbox_emails_deliver
from apps.withdrawals.models import WithdrawalRequest
from tests.accounts.factories import UserFactory
from tests.browser.support import axe_violations, sign_in
from tests.roles.conftest import member
from tests.withdrawals.factories import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ["kk", "ru"]


@pytest.fixture
def officer_page(page, live_server, client):
    """A function that signs a Privacy officer in, in `language`, on a desktop-sized page."""

    def open_as(language: str):
        page.set_viewport_size({"width": 1280, "height": 900})
        officer = member(PRIVACY_OFFICER, email=f"officer-{language}@alilo.kz", language=language)
        sign_in(page, client, live_server, officer)
        page.context.add_cookies([{"name": "alilo_language", "value": language, "url": live_server.url}])
        return officer

    return open_as


@pytest.fixture
def consent_status(client):
    """Read a user's consent-status as a connected service does."""
    _token, raw = acceptance_services.service_token_create(name="Reader")

    def read(user) -> dict:
        response = client.get(
            "/api/v1/consent-status", {"user_id": user.pk}, HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
        assert response.status_code == 200
        return response.json()

    return read


def person(language: str, **kwargs):
    return UserFactory(
        email=f"aigerim-{language}@example.kz",
        full_name="Aigerim Nurlanova",
        phone="+77011234567",
        language=language,
        **kwargs,
    )


def open_and_review(page, request, language: str) -> None:
    """From the list filtered by type, open the request, check the page, and take it into review."""
    page.goto(
        reverse("admin:withdrawals_withdrawalrequest_changelist")
        + f"?request_type__exact={request.request_type}"
    )
    assert page.locator("html").get_attribute("lang") == language
    page.locator("#result_list a", has_text=request.reference).click()
    page.locator(".wd-workflow").wait_for()
    page.locator('form[action$="/workflow/review/"] button').click()
    page.locator(".messagelist .success").wait_for()
    assert axe_violations(page) == []


def answer_calls(request) -> None:
    """The worker's part: post each call queued for the request; the reference service answers at once."""
    for call in ServiceCall.objects.filter(request=request, state="queued").order_by("pk"):
        service_call_attempt(call_pk=call.pk)


def reload_calls(page, expected_states: set[str]) -> None:
    page.reload()
    rows = page.locator(".wd-service-calls .wd-call-row")
    assert rows.count() >= 1
    states = {row.get_attribute("class").split("wd-call-")[-1] for row in rows.all()}
    assert states == expected_states


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_correction_is_granted_and_reaches_the_account_and_the_service(
    page, officer_page, reference_services, language
):
    shop = reference_services(name="Shop", fields=["full_name", "phone"])
    customer = person(language)
    request = submit(
        request_type="correction",
        requester=customer,
        language=language,
        details={
            "corrections": [
                {"field": "full_name", "current": "Aigerim Nurlanova", "correct": "Aigerim Nurlanqyzy"},
                {"field": "phone", "current": "+77011234567", "correct": "+77017654321"},
            ]
        },
    )
    officer_page(language)
    open_and_review(page, request, language)

    form = page.locator("form.wd-grant-correction")
    assert form.locator("#id_apply_full_name").is_checked() and form.locator("#id_apply_phone").is_checked()
    assert form.locator("#id_value_full_name").input_value() == "Aigerim Nurlanqyzy"
    assert not form.locator("#id_apply_email").is_checked()
    form.locator("#id_value_phone").fill("+7 701 765 43 21")
    form.locator('button[type="submit"]').click()
    page.locator(".messagelist .success").wait_for()
    assert WithdrawalRequest.objects.get(pk=request.pk).status == "granted"

    answer_calls(request)
    reload_calls(page, {"done"})
    assert shop.store[customer.email]["profile"]["full_name"] == "Aigerim Nurlanqyzy"
    assert shop.store[customer.email]["profile"]["phone"] == "+77017654321"
    # The account shows the corrected details to staff.
    page.goto(reverse("admin:accounts_user_change", args=[customer.pk]))
    assert "Aigerim Nurlanqyzy" in page.locator(".field-full_name").inner_text()
    assert "7017654321" in page.locator(".field-phone").inner_text().replace(" ", "")
    decision = OutboxEmail.objects.get(template="correction_granted")
    assert decision.language == language and decision.to == customer.email


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_blocking_is_granted_shown_in_consent_status_and_lifted(
    page, officer_page, reference_services, consent_status, language
):
    shop = reference_services(name="Shop")
    customer = person(language)
    request = submit(request_type="blocking", requester=customer, language=language)
    officer_page(language)
    open_and_review(page, request, language)

    form = page.locator("form.wd-grant-blocking")
    form.locator("#id_confirm").check()
    form.locator('button[type="submit"]').click()
    page.locator(".messagelist .success").wait_for()
    assert consent_status(customer)["blocked_at"] is not None
    assert page.locator(".wd-account strong").count() == 1  # "its data is blocked since …"

    answer_calls(request)
    reload_calls(page, {"done"})
    assert shop.store[customer.email]["blocked"] is True

    unblock = page.locator("form.wd-unblock")
    unblock.locator('button[type="submit"]').click()
    page.locator(".messagelist .error").wait_for()  # a reason is needed
    assert consent_status(customer)["blocked_at"] is not None
    page.locator("form.wd-unblock textarea").fill("The dispute is settled.")
    page.locator('form.wd-unblock button[type="submit"]').click()
    page.locator(".messagelist .success").wait_for()
    assert consent_status(customer)["blocked_at"] is None
    assert page.locator("form.wd-unblock").count() == 0
    answer_calls(request)
    assert shop.store[customer.email]["blocked"] is False
    assert OutboxEmail.objects.get(template="blocking_lifted").language == language


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_destruction_erases_the_account_and_the_closing_letter_reaches_the_person(
    page, officer_page, reference_services, consent_status, language
):
    shop = reference_services(name="Shop")
    customer = person(language)
    request = submit(request_type="destruction", requester=customer, language=language)
    officer_page(language)
    open_and_review(page, request, language)

    form = page.locator("form.wd-grant-destruction")
    form.locator("#id_confirm").check()
    form.locator("#id_reference").fill("DR-0000-000000")
    form.locator('button[type="submit"]').click()
    page.locator(".messagelist .error").wait_for()  # the wrong reference destroys nothing
    customer.refresh_from_db()
    assert customer.erased_at is None

    form = page.locator("form.wd-grant-destruction")
    form.locator("#id_confirm").check()
    form.locator("#id_reference").fill(request.reference)
    form.locator('button[type="submit"]').click()
    page.locator(".messagelist .success").wait_for()
    assert consent_status(customer)["erased_at"] is not None
    letter = OutboxEmail.objects.get(template="destruction_closing")
    assert letter.status == "held" and letter.to == customer.email  # until the service answers

    answer_calls(request)
    reload_calls(page, {"done"})
    assert shop.store[customer.email]["profile"] == {}
    letter.refresh_from_db()
    assert letter.status == "pending"
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[letter.pk])
    (message,) = mail.outbox
    assert message.to == [customer.email] and message.extra_headers["Content-Language"] == language
    assert request.reference in message.subject and "Shop" in message.body
    page.reload()
    emails = page.locator(".wd-emails").inner_text()
    assert customer.email not in emails and ERASED_EMAIL in emails
    assert page.locator(".wd-email-row").count() >= 1
    assert axe_violations(page) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_objection_is_granted_and_shown_in_consent_status(page, officer_page, consent_status, language):
    customer = person(language)
    request = submit(
        request_type="objection",
        requester=customer,
        language=language,
        details={"decision": "Personal prices"},
        reason="I do not want prices chosen by a program.",
    )
    officer_page(language)
    open_and_review(page, request, language)
    assert "Personal prices" in page.locator(".field-details_display").inner_text()

    form = page.locator("form.wd-grant-objection")
    form.locator('button[type="submit"]').click()
    page.locator(".messagelist .error").wait_for()  # the tick is needed
    form = page.locator("form.wd-grant-objection")
    form.locator("#id_confirm").check()
    form.locator('button[type="submit"]').click()
    page.locator(".messagelist .success").wait_for()
    assert consent_status(customer)["automated_processing_objected_at"] is not None
    assert OutboxEmail.objects.get(template="objection_granted").language == language
