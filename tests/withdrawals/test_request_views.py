"""The person's pages for every type of request: the page that asks what they want to do, a form per type,
the confirm page, the status page and My privacy."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import translation

from apps.notifications.models import OutboxEmail
from apps.withdrawals import selectors, services
from apps.withdrawals.models import WithdrawalRequest
from apps.withdrawals.tokens import status_token_make
from tests.accounts.factories import UserFactory
from tests.withdrawals.factories import submit, verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The labels these tests compare are read in English, as the pages and emails they check are."""
    with translation.override("en"):
        yield


START = "/privacy/requests/"
TYPES = ["access", "correction", "blocking", "destruction", "objection"]

# What a person types in each form to file a good request.
GOOD = {
    "access": {"question": "Who received my data?"},
    "correction": {
        "correction_1_field": "phone",
        "correction_1_current": "+7 701 000 0000",
        "correction_1_correct": "8 701 765 4321",
    },
    "blocking": {"grounds": "unlawful", "reason": "You send my data to advertisers."},
    "destruction": {"grounds": "not_needed", "acknowledgement": "on"},
    "objection": {"decision": "My order was refused automatically.", "reason": "I paid on time."},
}


def form_data(request_type, **overrides):
    data = {
        "full_name": "Aigerim Nurlanovna",
        "email": "visitor@example.kz",
        "phone": "",
        "website": "",
        "submission_token": str(uuid.uuid4()),
        **GOOD[request_type],
        **overrides,
    }
    return {key: value for key, value in data.items() if value is not None}


def post(client, request_type, **overrides):
    return client.post(
        f"{START}{request_type}/", form_data(request_type, **overrides), HTTP_ACCEPT_LANGUAGE="en"
    )


def test_the_start_page_asks_what_the_person_wants_to_do_with_each_types_term(client, settings):
    settings.ACCESS_DUE_WORKING_DAYS = 5
    assert reverse("requests:start") == START
    response = client.get(START, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200 and "What do you want to do?" in page
    links = re.findall(r'<h2><a href="([^"]+)">', page)
    assert links == [*(f"{START}{kind}/" for kind in TYPES), "/privacy/withdraw/"]
    terms = re.findall(r'class="rq-term">([^<]+)<', page)
    assert terms == [
        "We answer within 5 working days.",
        "We answer within 1 working day.",
        "We answer within 1 working day.",
        "We answer within 1 working day.",
        "We answer within 3 working days.",
        "We answer within 15 working days.",
    ]
    for sentence in ("get a copy", "Correct or complete", "stop processing it for now", "Destroy my data"):
        assert sentence in page


@pytest.mark.parametrize("request_type", TYPES)
def test_each_form_explains_the_term_and_asks_for_its_own_answers(client, request_type):
    page = client.get(f"{START}{request_type}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    days = selectors.term_working_days(request_type)
    assert "What happens next" in page and f"Within {days} working day" in page
    assert 'name="submission_token"' in page and 'name="website"' in page
    for name in GOOD[request_type]:
        assert f'name="{name}"' in page
    assert 'style="' not in page and page.count("<script") == 1


def test_a_type_without_a_form_of_its_own_is_not_found(client):
    assert client.get(f"{START}withdrawal/").status_code == 404
    assert client.get(f"{START}telepathy/").status_code == 404


def test_the_destruction_form_warns_that_the_agreement_ends_and_what_is_kept(client):
    page = client.get(f"{START}destruction/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "ends your user agreement" in page and "what the law requires us to keep" in page
    assert 'name="acknowledgement"' in page


@pytest.mark.parametrize("request_type", TYPES)
def test_a_visitors_request_of_each_type_waits_for_the_confirm_link(client, request_type):
    response = post(client, request_type)
    assert response.status_code == 302 and response["Location"] == reverse("requests:sent")
    withdrawal = WithdrawalRequest.objects.get()
    assert (withdrawal.request_type, withdrawal.status, withdrawal.channel) == (
        request_type,
        "unverified",
        "web",
    )
    assert OutboxEmail.objects.get().template == "withdrawal_confirm"
    sent = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "visitor@example.kz" in sent and f'href="{START}{request_type}/"' in sent


def test_the_correction_form_stores_each_line_as_the_rules_clean_it(client):
    post(
        client,
        "correction",
        correction_2_field="email",
        correction_2_current="",
        correction_2_correct="New@Example.kz",
    )
    assert WithdrawalRequest.objects.get().details == {
        "corrections": [
            {"field": "phone", "current": "+7 701 000 0000", "correct": "+77017654321"},
            {"field": "email", "current": "", "correct": "new@example.kz"},
        ]
    }


@pytest.mark.parametrize(
    ("request_type", "overrides", "field", "message"),
    [
        ("access", {"full_name": " "}, "full_name", "Enter your full name."),
        ("access", {"email": "nope"}, "email", "Enter a valid email address."),
        ("access", {"question": "x" * 2001}, "question", "at most 2000 characters"),
        (
            "correction",
            {"correction_1_field": "", "correction_1_current": "", "correction_1_correct": ""},
            "correction_1_field",
            "Say which data",
        ),
        ("correction", {"correction_1_field": ""}, "correction_1_field", "Correction 1: Choose which data"),
        ("correction", {"correction_1_correct": ""}, "correction_1_correct", "Correction 1: Write what it"),
        (
            "correction",
            {"correction_3_field": "phone", "correction_3_correct": "+7 701 111 2233"},
            "correction_3_field",
            "Correction 3: Each kind of data may be listed once",
        ),
        ("correction", {"correction_1_correct": "12"}, "correction_1_correct", "correct phone number"),
        ("correction", {"correction_2_field": "salary"}, "correction_2_field", "Select a valid choice."),
        ("blocking", {"grounds": None}, "grounds", "Choose why you ask for this."),
        ("blocking", {"grounds": "other", "reason": ""}, "reason", "Say why you ask for this."),
        ("blocking", {"grounds": "not_needed"}, "grounds", "Select a valid choice."),
        ("destruction", {"acknowledgement": None}, "acknowledgement", "ends your user agreement"),
        ("destruction", {"grounds": None}, "grounds", "Choose why you ask for this."),
        ("objection", {"decision": ""}, "decision", "Say which automated decision"),
        ("objection", {"reason": ""}, "reason", "Say why you object to it."),
        ("objection", {"decision": "Bad\x00"}, "decision", "Null characters are not allowed."),
    ],
)
def test_bad_answers_get_a_clear_message_next_to_the_field_and_nothing_is_stored(
    client, request_type, overrides, field, message
):
    response = post(client, request_type, **overrides)
    page = response.content.decode()
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert message in " ".join(response.context["form"].errors[field])
    assert 'id="error-summary"' in page and f'href="#id_{field}' in page
    assert not WithdrawalRequest.objects.exists() and not OutboxEmail.objects.exists()


def test_a_line_after_the_first_in_error_is_shown_open(client):
    page = post(client, "correction", correction_4_correct="x").content.decode()
    assert '<details class="rq-more" open>' in page
    assert '<details class="rq-more">' in client.get(f"{START}correction/").content.decode()


def test_the_bot_trap_pretends_success_and_stores_nothing(client):
    response = post(client, "access", website="http://spam.example")
    assert response.status_code == 302 and response["Location"] == reverse("requests:sent")
    assert not WithdrawalRequest.objects.exists() and not OutboxEmail.objects.exists()


def test_the_forms_share_the_withdrawal_forms_rate_limits(client, settings):
    settings.WITHDRAWAL_RATE_PER_EMAIL = "2/h"
    assert post(client, "access").status_code == 302
    assert post(client, "objection").status_code == 302
    assert post(client, "blocking").status_code == 429
    data = {"full_name": "A", "email": "visitor@example.kz", "scope": "all", "acknowledgement": "on"}
    assert (
        client.post("/privacy/withdraw/", {**data, "submission_token": str(uuid.uuid4())}).status_code == 429
    )
    assert WithdrawalRequest.objects.count() == 2


def test_a_signed_in_member_files_and_is_taken_to_the_requests_page(client):
    user = UserFactory(email="member@example.kz", full_name="Member Name", language="en")
    client.force_login(user)
    page = client.get(f"{START}blocking/").content.decode()
    assert 'value="member@example.kz"' in page and "Member Name" in page
    response = post(client, "blocking", email="attacker@example.kz", full_name="Member Name")
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.status == "submitted" and withdrawal.email == "member@example.kz"
    assert response["Location"] == selectors.withdrawal_status_path(withdrawal)
    assert response["Location"].startswith("/privacy/requests/status/")
    status = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Your request {withdrawal.reference} is registered." in status


def test_the_confirm_page_shows_the_type_and_answers_then_registers(client):
    withdrawal = submit(request_type="correction", language="en")
    link = selectors.withdrawal_confirm_path(withdrawal)
    assert link.startswith("/privacy/requests/confirm/")
    page = client.get(link, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Correction of my data" in page and "Aigerim Nurlanovna" in page and "+77017654321" in page
    assert "Scope" not in page
    response = client.post(link)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted" and response["Location"] == selectors.withdrawal_status_path(
        withdrawal
    )


def test_a_broken_confirm_link_offers_the_start_page(client):
    response = client.get("/privacy/requests/confirm/nonsense/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and f'href="{START}"' in response.content.decode()


@pytest.mark.parametrize("request_type", TYPES)
def test_the_status_page_shows_type_reference_term_last_day_answers_and_history(client, request_type):
    withdrawal = verified(request_type=request_type, language="en")
    token = status_token_make(withdrawal.public_id)
    response = client.get(f"{START}status/{token}/", HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert "withdrawals/_status_extra.html" in [template.name for template in response.templates]
    days = selectors.term_working_days(request_type)
    assert withdrawal.get_request_type_display() in page and withdrawal.reference in page
    assert f"{days} working day" in page and "We answer by" in page
    assert "Request registered" in page and "Scope" not in page
    shown = {
        "access": "Who received my data?",
        "correction": "Aigerim Nurlanovna",
        "blocking": "My data is inaccurate",
        "destruction": "that destruction ends the user agreement",
        "objection": "My order was refused automatically.",
    }
    assert shown[request_type] in page
    assert f'href="{START}status/{token}/cancel/"' in page
    # The link of the withdrawal pages serves it too: no link to a request ever breaks.
    assert client.get(f"/privacy/withdraw/status/{token}/").status_code == 200


def test_cancelling_another_type_says_nothing_changes(client):
    withdrawal = verified(request_type="access", language="en")
    token = status_token_make(withdrawal.public_id)
    page = client.get(f"{START}status/{token}/cancel/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "nothing changes" in page and "consent" not in page.split("<main")[1]
    response = client.post(f"{START}status/{token}/cancel/", {"confirm": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Location"] == f"{START}status/{token}/"
    withdrawal.refresh_from_db()
    assert withdrawal.status == "cancelled"
    assert (
        "Nothing has changed." in client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )


def test_answering_a_question_on_another_type_returns_to_its_page(client):
    from tests.accounts.factories import StaffFactory

    staff = StaffFactory()
    withdrawal = verified(request_type="objection", language="en")
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Which order?")
    token = status_token_make(withdrawal.public_id)
    page = client.get(f"{START}status/{token}/").content.decode()
    assert f'action="{START}status/{token}/answer/"' in page
    response = client.post(f"{START}status/{token}/answer/", {"answer": "Order 12."})
    assert response["Location"] == f"{START}status/{token}/"


def test_my_privacy_lists_the_requests_of_every_type(client):
    user = UserFactory(email="member@example.kz", language="en")
    requests = [submit(requester=user, request_type=kind) for kind in [*TYPES, "withdrawal"]]
    client.force_login(user)
    page = client.get("/privacy/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for withdrawal in requests:
        assert withdrawal.reference in page and withdrawal.get_request_type_display() in page
        assert selectors.withdrawal_status_path(withdrawal) in page
    assert f'href="{START}"' in page
