"""The emails of every type of request: one template per email, with what each type needs to say."""

import pytest
from django.core import mail
from django.utils import translation

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals import services
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import submit, verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_labels():
    """The labels these tests compare are read in English, as the emails they check are."""
    with translation.override("en"):
        yield


TYPES = ["access", "correction", "blocking", "destruction", "objection"]
HEADING = {
    "access": "APPLICATION FOR ACCESS TO PERSONAL DATA",
    "correction": "APPLICATION TO CORRECT PERSONAL DATA",
    "blocking": "APPLICATION TO BLOCK PERSONAL DATA",
    "destruction": "APPLICATION TO DESTROY PERSONAL DATA",
    "objection": "OBJECTION TO AUTOMATED PROCESSING OF PERSONAL DATA",
}
ARTICLE = {
    "access": "Art. 24",
    "correction": "Art. 24 and 25(2)(8)",
    "blocking": "Art. 24 and 25(2)(8)",
    "destruction": "Art. 24 and 25(2)(8)",
    "objection": "Art. 19-1(3)",
}
# What the person asked for, as the emails must repeat it.
ANSWER = {
    "access": ["Who received my data?"],
    "correction": ["Full name", "Aigerim Nurlanova", "Aigerim Nurlanovna", "Phone number", "+77017654321"],
    "blocking": ["My data is inaccurate"],
    "destruction": ["I no longer use Alilo", "destruction ends the user agreement"],
    "objection": ["My order was refused automatically."],
}
CONFIRM_SUBJECT = {
    "access": "Confirm your request for access to your data",
    "correction": "Confirm your request to correct your data",
    "blocking": "Confirm your request to block your data",
    "destruction": "Confirm your request to destroy your data",
    "objection": "Confirm your request to object to automated processing",
}
# The decision of each type: its own letter (the other rights have theirs, with what was done), its subject
# and a sentence of it.
GRANTED = {
    # One email answers an access request: the one that releases the package.
    "access": (
        "access_package_released",
        "your data is ready to download",
        "is ready on your request's page",
    ),
    "correction": ("correction_granted", "your data is corrected", "We made these corrections"),
    "blocking": ("blocking_granted", "your data is blocked", "your personal data is blocked"),
    "destruction": ("destruction_closing", "your personal data is destroyed", "What we kept, and why"),
    "objection": ("objection_granted", "your objection is upheld", "solely on automated processing"),
}


def grant(withdrawal, staff):
    """Grant a request through its type's own step, as the admin does."""
    if withdrawal.request_type == "correction":
        return services.correction_request_grant(
            withdrawal=withdrawal,
            actor=staff,
            changes={"full_name": "Aigerim Nurlanovna", "phone": "+77017654321"},
        )
    granting = {
        "blocking": services.blocking_request_grant,
        "destruction": services.destruction_request_grant,
        "objection": services.objection_request_grant,
    }.get(withdrawal.request_type, services.withdrawal_request_grant)
    return granting(withdrawal=withdrawal, actor=staff)


def delivered(template, **filters):
    row = OutboxEmail.objects.filter(template=template, **filters).latest("id")
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[row.pk])
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    return row, message, message.body, message.alternatives[0][0]


@pytest.fixture(autouse=True)
def _english_mailbox(settings):
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"


@pytest.mark.parametrize("request_type", TYPES)
def test_the_confirm_email_names_the_type_and_nothing_the_sender_typed(request_type):
    submit(request_type=request_type, full_name="Sender Chosen Words")
    _row, message, text, html = delivered("withdrawal_confirm")
    assert message.subject == CONFIRM_SUBJECT[request_type]
    assert "/privacy/requests/confirm/" in text and "/privacy/requests/confirm/" in html
    for body in (text, html):
        assert "Sender Chosen Words" not in body
        for answer in ANSWER[request_type]:
            assert answer not in body or answer in ("Full name", "Phone number")
        assert "withdraw consent" not in body


@pytest.mark.parametrize("request_type", TYPES)
def test_the_written_application_names_the_type_article_answers_and_term(request_type):
    user = UserFactory(email="member@example.kz", full_name="Aigerim Nurlanovna")
    withdrawal = submit(requester=user, request_type=request_type, reason="Because of my reasons.")
    row, message, text, html = delivered("withdrawal_application")
    assert row.to == "info@alilo.kz" and message.reply_to == ["member@example.kz"]
    assert withdrawal.reference in message.subject and "Aigerim Nurlanovna" in message.subject
    assert "withdraw consent" not in message.subject
    days = {"access": 3, "objection": 3}.get(request_type, 1)
    for body in (text, html):
        assert HEADING[request_type] in body and "WITHDRAW CONSENT" not in body
        assert f"Law on Personal Data, {ARTICLE[request_type]}" in body
        assert f"within {days} working day" in body
        assert "Because of my reasons." in body and withdrawal.get_request_type_display() in body
        for answer in ANSWER[request_type]:
            assert answer in body, answer
        assert "Scope" not in body


@pytest.mark.parametrize("request_type", TYPES)
def test_the_receipt_names_the_type_and_the_last_day(request_type):
    withdrawal = verified(request_type=request_type)
    _row, message, text, html = delivered("withdrawal_received")
    assert withdrawal.reference in message.subject and "is registered" in message.subject
    assert "withdraw consent" not in message.subject
    for body in (text, html):
        assert "/privacy/requests/status/" in body
        assert withdrawal.get_request_type_display() in body
        for answer in ANSWER[request_type]:
            assert answer in body, answer


@pytest.mark.parametrize("request_type", TYPES)
def test_decisions_are_worded_for_the_type(request_type):
    staff = StaffFactory()
    granted = verified(request_type=request_type, email="granted@example.kz")
    services.withdrawal_request_review_start(withdrawal=granted, actor=staff)
    grant(granted, staff)
    template, subject, sentence = GRANTED[request_type]
    _row, message, text, html = delivered(template)
    assert message.subject == f"{granted.reference}: {subject}"
    assert sentence in text and sentence in html
    assert "withdraw" not in text.lower()

    refused = verified(request_type=request_type, email="refused@example.kz")
    services.withdrawal_request_review_start(withdrawal=refused, actor=staff)
    services.withdrawal_request_refuse(withdrawal=refused, actor=staff, reason="The law requires it.")
    _row, message, text, html = delivered("withdrawal_refused", to="refused@example.kz")
    assert "withdrawal" not in message.subject and refused.reference in message.subject
    assert "The law requires it." in text


def test_the_cancellation_receipt_of_another_type_says_nothing_changes():
    withdrawal = verified(request_type="blocking")
    services.withdrawal_request_cancel(withdrawal=withdrawal)
    _row, _message, text, _html = delivered("withdrawal_cancelled")
    assert "(Blocking of my data) is cancelled, as you asked. Nothing changes." in text
    assert "consent" not in text


def test_a_withdrawals_emails_are_as_before():
    withdrawal = verified(scope="all")
    _row, message, _text, _html = delivered("withdrawal_received")
    assert message.subject == f"Your request {withdrawal.reference} to withdraw consent is registered"
    _row, message, text, _html = delivered("withdrawal_application")
    assert "APPLICATION TO WITHDRAW CONSENT" in text and "Art. 8(7)" in text and "All processing" in text


def test_an_access_request_without_a_reason_has_no_empty_reason_line():
    verified(request_type="access", reason="")
    _row, _message, text, html = delivered("withdrawal_received")
    assert "Reason" not in text and "Reason" not in html
