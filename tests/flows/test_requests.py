"""Every type of request, filed as a person does it: from the home page to the page that asks what they want
to do, its form (a mistake first), the emailed confirm link, the status page and the emails; filed signed in;
and filed by a connected service through the API and confirmed by the person."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from apps.acceptances.services import service_token_create
from apps.withdrawals.models import WithdrawalRequest

from .support import Visitor, deliver_emails, emails_to, link_in, log_in_member, the_email

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _english_labels():
    """The labels these tests compare are read in English, as the emails they check are."""
    with translation.override("en"):
        yield


START = "/privacy/requests/"
PREFIX = {"access": "AR", "correction": "CR", "blocking": "BR", "destruction": "DR", "objection": "OR"}
# The answers a person gives on each form, the one they forget at first, and what their request's page and
# the written application then show of it.
ANSWERS = {
    "access": ({"question": "Who received my order history?"}, "full_name", "Who received my order history?"),
    "correction": (
        {
            "correction_1_field": "postal_address",
            "correction_1_current": "Abay 1",
            "correction_1_correct": "Abay 10",
        },
        "correction_1_field",
        "Abay 10",
    ),
    "blocking": (
        {"grounds": "inaccurate", "reason": "My address is wrong."},
        "grounds",
        "My address is wrong.",
    ),
    "destruction": (
        {"grounds": "not_needed", "acknowledgement": "on"},
        "acknowledgement",
        "I no longer use Alilo",
    ),
    "objection": (
        {"decision": "The credit limit set for me.", "reason": "It ignores my history."},
        "decision",
        "The credit limit set for me.",
    ),
}


@pytest.fixture(autouse=True)
def _english_mailbox(settings):
    """The written application's wording checked below is the source text."""
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"


def open_form(visitor: Visitor, request_type: str):
    home = visitor.get("/")
    assert START in home.links(START)
    start = visitor.get(START)
    assert "What do you want to do?" in start
    link = f"{START}{request_type}/"
    assert start.links(link) == [link]
    return visitor.get(link)


@pytest.mark.parametrize("request_type", list(ANSWERS))
def test_a_visitor_files_each_type_confirms_it_from_the_email_and_follows_it(transactional_db, request_type):
    answers, forgotten, shown = ANSWERS[request_type]
    email = f"{request_type}@example.kz"
    visitor = Visitor()
    form = open_form(visitor, request_type)

    fields = {"full_name": "Ivan Petrov", "email": email, **answers}
    page = visitor.submit(form, has='name="submission_token"', **{**fields, forgotten: None})
    assert page.path == f"{START}{request_type}/" and "There is a problem" in page
    assert f'href="#id_{forgotten}' in page.html and not WithdrawalRequest.objects.exists()
    page = visitor.submit(page, has='name="submission_token"', **fields)

    assert page.path == f"{START}sent/" and email in page
    withdrawal = WithdrawalRequest.objects.get()
    assert (withdrawal.request_type, withdrawal.status) == (request_type, "unverified")
    sent = deliver_emails()
    assert emails_to(settings.PRIVACY_MAILBOX, sent) == []
    confirm = the_email(email, sent, subject="Confirm your request")
    button = visitor.get(link_in(confirm, f"{START}confirm/"))
    assert withdrawal.get_request_type_display() in button and shown in button
    page = visitor.submit(button, has="Confirm my request")

    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted"
    assert re.fullmatch(rf"{PREFIX[request_type]}-\d{{4}}-\d{{6}}", withdrawal.reference)
    assert page.path.startswith(f"{START}status/") and withdrawal.reference in page and shown in page
    sent = deliver_emails()
    application = the_email(settings.PRIVACY_MAILBOX, sent, subject=withdrawal.reference)
    assert shown in application.body and application.reply_to == [email]
    receipt = the_email(email, sent, subject=withdrawal.reference)
    assert Visitor().get(link_in(receipt, f"{START}status/")).path == page.path


def test_a_member_files_a_correction_signed_in_and_sees_it_in_my_privacy(transactional_db):
    visitor, _user = log_in_member("aigul@example.kz", full_name="Aigul Seitkali")
    mine = visitor.get("/privacy/me/")
    assert START in mine.links(START)
    form = open_form(visitor, "correction")
    assert 'value="aigul@example.kz"' in form.html
    page = visitor.submit(
        form,
        has='name="submission_token"',
        correction_1_field="full_name",
        correction_1_current="Aigul Seitkali",
        correction_1_correct="Aigul Seitkalikyzy",
    )
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.status == "submitted" and withdrawal.reference.startswith("CR-")
    assert page.path.startswith(f"{START}status/") and "Aigul Seitkalikyzy" in page
    application = the_email(settings.PRIVACY_MAILBOX, deliver_emails(), subject=withdrawal.reference)
    assert "APPLICATION TO CORRECT PERSONAL DATA" in application.body
    mine = visitor.get("/privacy/me/")
    assert withdrawal.reference in mine and "Correction of my data" in mine
    assert mine.links(f"{START}status/") == [page.path]


def test_a_service_files_for_a_person_who_confirms_and_the_service_reads_the_status(transactional_db):
    _token, raw = service_token_create(name="Alilo Market")
    service = Client(headers={"authorization": f"Bearer {raw}", "accept-language": "en"})
    response = service.post(
        "/api/v1/requests",
        {
            "type": "destruction",
            "person": {"full_name": "Dana Omarova", "email": "dana@example.kz"},
            "language": "en",
            "grounds": "not_needed",
            "acknowledgement": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    reference = response.json()["request"]["reference"]
    assert reference.startswith("DR-") and response.json()["request"]["status"] == "unverified"

    sent = deliver_emails()
    assert emails_to(settings.PRIVACY_MAILBOX, sent) == []
    confirm = the_email("dana@example.kz", sent, subject="Confirm your request to destroy your data")
    assert "Alilo Market" in confirm.body
    person = Visitor()
    page = person.submit(person.get(link_in(confirm, f"{START}confirm/")), has="Confirm my request")
    assert reference in page

    status = service.get(f"/api/v1/requests/{reference}").json()
    assert status["status"] == "submitted" and status["email_confirmed"] is True and status["last_day"]
    application = the_email(settings.PRIVACY_MAILBOX, deliver_emails(), subject=reference)
    assert "Alilo Market" in application.body and "APPLICATION TO DESTROY PERSONAL DATA" in application.body
