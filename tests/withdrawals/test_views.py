"""The public form, the confirm link, the status page, and what a requester can and cannot see."""

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.notifications.models import OutboxEmail
from apps.withdrawals import selectors, services
from apps.withdrawals.models import WithdrawalRequest
from apps.withdrawals.tokens import confirm_token_make, status_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import in_review, submit, verified

pytestmark = pytest.mark.django_db

FORM_URL = "/privacy/withdraw/"


def form_data(**overrides):
    data = {
        "full_name": "Aigerim Nurlanovna",
        "email": "visitor@example.kz",
        "phone": "+7 701 234 5678",
        "scope": "all",
        "reason": "",
        "acknowledgement": "on",
        "website": "",
        "submission_token": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_form_url_and_page_explain_what_happens_next(client):
    assert reverse("withdrawals:form") == FORM_URL
    response = client.get(FORM_URL, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert "What happens next" in page
    assert "info@alilo.kz" in page
    due = selectors.withdrawal_due_preview()
    assert str(due.year) in page and "working days" in page
    assert "may lead to the termination of the user agreement" in page
    assert 'name="submission_token"' in page
    # One same-origin script (it focuses the error summary), no inline script or style.
    assert page.count("<script") == 1 and '<script src="/static/js/site.js" defer></script>' in page
    assert 'style="' not in page


def test_visitor_submission_stores_unverified_and_sends_confirm_link(client):
    response = client.post(FORM_URL, form_data(phone="8 701 234 5678"), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 302 and response["Location"] == reverse("withdrawals:sent")
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.status == "unverified" and withdrawal.language == "ru"
    assert str(withdrawal.phone) == "+77012345678"
    assert withdrawal.ip == "127.0.0.1"
    email = OutboxEmail.objects.get()
    assert email.template == "withdrawal_confirm" and email.language == "ru"
    sent = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "visitor@example.kz" in sent.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": "   "}, "full_name", "Enter your full name."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"phone": "12"}, "phone", "Enter a valid phone number"),
        ({"scope": "everything"}, "scope", "Select a valid choice."),
        ({"scope": None}, "scope", "Choose whether you withdraw consent"),
        ({"scope": "partial"}, "purposes", "Tick at least one purpose"),
        ({"scope": "partial", "purposes": ["telepathy"]}, "purposes", "Select a valid choice."),
        ({"acknowledgement": None}, "acknowledgement", "confirm that you understand it may end"),
        ({"reason": "x" * 2001}, "reason", "at most 2000 characters"),
        ({"submission_token": "not-a-uuid"}, "submission_token", "Enter a valid UUID."),
        ({"full_name": "Bad\x00Name"}, "full_name", "Null characters are not allowed."),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(client, overrides, field, message):
    response = client.post(FORM_URL, form_data(**overrides), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert not WithdrawalRequest.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_partial_withdrawal_without_acknowledgement_is_accepted(client):
    data = form_data(scope="partial", purposes=["marketing", "contests"], acknowledgement=None)
    response = client.post(FORM_URL, data)
    assert response.status_code == 302
    assert WithdrawalRequest.objects.get().purposes == ["marketing", "contests"]


def test_double_submit_creates_one_request(client):
    data = form_data()
    first = client.post(FORM_URL, data)
    second = client.post(FORM_URL, data)
    assert first.status_code == second.status_code == 302
    assert WithdrawalRequest.objects.count() == 1
    assert OutboxEmail.objects.count() == 1


def test_bot_trap_pretends_success_and_stores_nothing(client):
    response = client.post(FORM_URL, form_data(website="http://spam.example"))
    assert response.status_code == 302 and response["Location"] == reverse("withdrawals:sent")
    assert not WithdrawalRequest.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_per_email_rate_limit_shows_clear_429(client, settings):
    settings.WITHDRAWAL_RATE_PER_EMAIL = "2/h"
    for attempt in range(2):
        data = form_data(email="Flood@example.kz", reason=f"Attempt {attempt}.")
        assert client.post(FORM_URL, data).status_code == 302
    response = client.post(FORM_URL, form_data(email="flood@example.kz"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert WithdrawalRequest.objects.count() == 2
    # Another person on another address is not blocked.
    other = client.post(FORM_URL, form_data(email="someone@example.kz"), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302


def test_per_ip_rate_limit_blocks_a_flood_from_one_address(client, settings):
    settings.WITHDRAWAL_RATE_PER_IP = "3/h"
    for number in range(3):
        client.post(FORM_URL, form_data(email=f"p{number}@example.kz"), REMOTE_ADDR="192.0.2.10")
    blocked = client.post(FORM_URL, form_data(email="p9@example.kz"), REMOTE_ADDR="192.0.2.10")
    assert blocked.status_code == 429
    assert client.get(FORM_URL, REMOTE_ADDR="192.0.2.10").status_code == 200  # reading is never limited
    assert client.post(FORM_URL, form_data(email="q@example.kz"), REMOTE_ADDR="192.0.2.11").status_code == 302


def test_signed_in_user_is_prefilled_and_registered_at_once(client):
    user = UserFactory(email="member@example.kz", full_name="Member Name", language="en")
    client.force_login(user)
    page = client.get(FORM_URL).content.decode()
    assert 'value="member@example.kz"' in page and "Member Name" in page
    data = form_data(email="attacker@example.kz", full_name="Member Name")
    response = client.post(FORM_URL, data)
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.status == "submitted" and withdrawal.email == "member@example.kz"
    assert withdrawal.requester == user
    assert response.status_code == 302
    assert response["Location"] == selectors.withdrawal_status_path(withdrawal)
    status = client.get(response["Location"]).content.decode()
    assert withdrawal.reference in status


# --- confirm link --------------------------------------------------------------------------------------


def test_confirm_link_get_changes_nothing_and_post_registers(client):
    withdrawal = submit()
    url = reverse("withdrawals:confirm", args=[confirm_token_make(withdrawal.public_id)])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "Confirm my request" in page.content.decode()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "unverified"
    response = client.post(url)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted" and withdrawal.reference
    assert response["Location"] == selectors.withdrawal_status_path(withdrawal)
    # The link used again leads to the status page.
    assert client.get(url)["Location"] == selectors.withdrawal_status_path(withdrawal)


def test_confirm_link_expires_after_48_hours(client):
    withdrawal = submit()
    token = confirm_token_make(withdrawal.public_id)
    url = reverse("withdrawals:confirm", args=[token])
    with time_machine.travel(timezone.now() + timedelta(hours=47, minutes=59)):
        assert client.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=48, minutes=1)):
        response = client.post(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "unverified"


def test_tampered_confirm_link_is_refused(client):
    withdrawal = submit()
    token = confirm_token_make(withdrawal.public_id)
    other = uuid.uuid4().hex
    forged = other + token[len(withdrawal.public_id.hex) :]
    for bad in (forged, token[:-2] + "xx", "nonsense"):
        response = client.post(reverse("withdrawals:confirm", args=[bad]), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "unverified"


def test_a_status_link_cannot_be_used_as_confirm_link(client):
    withdrawal = submit()
    response = client.post(reverse("withdrawals:confirm", args=[status_token_make(withdrawal.public_id)]))
    assert response.status_code == 404


# --- status page ---------------------------------------------------------------------------------------


def test_status_page_shows_status_due_date_and_only_public_timeline(client):
    staff = StaffFactory()
    withdrawal = in_review(staff=staff, language="en")
    services.withdrawal_request_note_add(withdrawal=withdrawal, actor=staff, text="Internal: check VIP list")
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Send your phone")
    response = client.get(selectors.withdrawal_status_path(withdrawal), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert withdrawal.reference in page
    assert "Waiting for information" in page
    assert "Send your phone" in page
    assert "Internal: check VIP list" not in page
    assert staff.email not in page  # the assignment is internal
    assert 'name="answer"' in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_another_requesters_link_does_not_work(client):
    mine = verified(email="mine@example.kz")
    theirs = verified(email="theirs@example.kz")
    my_token = status_token_make(mine.public_id)
    signature = my_token.split(":", 1)[1]
    forged = f"{theirs.public_id.hex}:{signature}"
    assert client.get(reverse("withdrawals:status", args=[forged])).status_code == 404
    assert client.get(reverse("withdrawals:status", args=[theirs.public_id.hex])).status_code == 404
    assert client.post(reverse("withdrawals:cancel", args=[forged]), {"confirm": "on"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "submitted"
    assert client.get(selectors.withdrawal_status_path(mine)).status_code == 200


def test_unconfirmed_request_has_no_status_page(client):
    withdrawal = submit()
    assert (
        client.get(reverse("withdrawals:status", args=[status_token_make(withdrawal.public_id)])).status_code
        == 404
    )


def test_requester_answers_a_request_for_information(client):
    staff = StaffFactory()
    withdrawal = in_review(staff=staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Which city?")
    token = status_token_make(withdrawal.public_id)
    empty = client.post(
        reverse("withdrawals:answer", args=[token]), {"answer": "  "}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert empty.status_code == 400 and "Write your answer." in empty.content.decode()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "awaiting_information"
    response = client.post(reverse("withdrawals:answer", args=[token]), {"answer": "Almaty"})
    assert response.status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review"
    assert withdrawal.timeline.filter(kind="information_provided", text="Almaty").exists()
    # Answering again when nobody asks is refused with a message, nothing changes.
    again = client.post(reverse("withdrawals:answer", args=[token]), {"answer": "Again"}, follow=True)
    assert again.status_code == 200
    assert not withdrawal.timeline.filter(text="Again").exists()


def test_requester_cancels_with_confirmation(client):
    withdrawal = verified(language="en")
    url = reverse("withdrawals:cancel", args=[status_token_make(withdrawal.public_id)])
    assert client.get(url).status_code == 200
    unticked = client.post(url, {}, HTTP_ACCEPT_LANGUAGE="en")
    assert unticked.status_code == 400 and "Tick the box" in unticked.content.decode()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted"
    assert client.post(url, {"confirm": "on"}).status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == "cancelled"
    # A decided or cancelled request cannot be cancelled again.
    assert client.post(url, {"confirm": "on"}).status_code == 302
    assert withdrawal.timeline.filter(kind="cancelled").count() == 1


def test_refused_request_shows_the_reason(client):
    staff = StaffFactory()
    withdrawal = in_review(staff=staff)
    services.withdrawal_request_refuse(withdrawal=withdrawal, actor=staff, reason="Contract still running.")
    page = client.get(
        selectors.withdrawal_status_path(withdrawal), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Contract still running." in page and "Refused" in page
    assert "Cancel my request" not in page


# --- "My privacy" section and navigation -----------------------------------------------------------------


def test_my_privacy_section_lists_only_the_users_registered_requests(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    user = UserFactory()
    mine = verified(requester=None, email=user.email)  # linked to the account on confirmation
    submit(requester=None, email=user.email)  # unconfirmed: not listed
    verified(email="other@example.kz")
    request = rf.get("/privacy/")
    request.user = user
    section = selectors.my_privacy_section(request)
    rows = section["context"]["withdrawal_rows"]
    assert [row["withdrawal"].pk for row in rows] == [mine.pk]
    html = render_to_string(section["template"], section["context"], request=request)
    assert mine.reference in html and rows[0]["status_path"] in html
    request.user = AnonymousUser()
    assert selectors.my_privacy_section(request) is None


def test_signed_in_account_with_an_unverified_address_gets_its_reference_and_a_confirm_link(client):
    user = UserFactory(unverified=True, email="claimed@example.kz", language="en")
    client.force_login(user)
    form = client.get(reverse("withdrawals:form"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "email address is not confirmed yet, so we check it as for anyone." in form
    assert "We email you a link to confirm your address." in form
    assert "As you are signed in, your request is registered at once" not in form
    response = client.post(
        reverse("withdrawals:form"),
        {
            "submission_token": str(uuid.uuid4()),
            "full_name": "Aigerim Nurlanovna",
            "scope": "all",
            "reason": "",
            "acknowledgement": "on",
        },
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.status == WithdrawalRequest.Status.UNVERIFIED and withdrawal.requester == user
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("withdrawals:sent")
    assert f"Your request has the reference {withdrawal.reference}." in page
    assert "claimed@example.kz" in page
    assert not OutboxEmail.objects.filter(template="withdrawal_application").exists()
    assert OutboxEmail.objects.filter(template="withdrawal_confirm", to="claimed@example.kz").exists()


def test_signed_in_account_with_a_confirmed_address_is_not_told_staff_may_ask(client):
    client.force_login(UserFactory(language="en"))
    form = client.get(reverse("withdrawals:form"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "As you are signed in, your request is registered at once" in form
    assert "Your email address is not confirmed yet" not in form


def test_my_privacy_section_is_registered_in_settings(settings):
    assert "apps.withdrawals.selectors.my_privacy_section" in settings.MY_PRIVACY_SECTIONS


def test_navigation_and_home_link_to_the_requests_page_and_the_withdrawal_form(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count('href="/privacy/requests/"') >= 2  # the menu and the home page's card
    assert page.count(f'href="{FORM_URL}"') >= 1 and "Withdraw consent" in page
    start = client.get("/privacy/requests/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{FORM_URL}"' in start


def test_confirm_link_in_the_email_leads_to_registration(client):
    from django.core import mail

    from apps.notifications.services import outbox_emails_deliver

    client.post(FORM_URL, form_data(), HTTP_ACCEPT_LANGUAGE="en")
    row = OutboxEmail.objects.get(template="withdrawal_confirm")
    outbox_emails_deliver(email_ids=[row.pk])
    link = re.search(r"http://testserver(/privacy/withdraw/confirm/\S+/)", mail.outbox[0].body).group(1)
    response = client.post(link)
    assert response.status_code == 302
    assert WithdrawalRequest.objects.get().status == "submitted"
