"""What each email says, to whom, in which language."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals import selectors, services
from apps.withdrawals.tokens import confirm_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import ThirdPartyFactory, in_review, submit, verified

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
REGISTERED = datetime(2026, 11, 30, 10, 0, tzinfo=ALMATY)  # due by the end of 22 December 2026
DUE_TEXT = {"ru": "22 декабря 2026", "en": "Dec. 22, 2026", "kk": "22.12.2026"}


def deliver(template):
    row = OutboxEmail.objects.get(template=template)
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[row.pk])
    assert len(mail.outbox) == 1
    return row, mail.outbox[0]


def html_of(message):
    return message.alternatives[0][0]


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_requester_receipt_in_their_language_with_reference_due_date_and_status_link(language):
    with time_machine.travel(REGISTERED, tick=False):
        withdrawal = verified(language=language)
    row, message = deliver("withdrawal_received")
    assert row.to == withdrawal.email and row.language == language
    assert message.extra_headers["Content-Language"] == language
    assert withdrawal.reference in message.subject
    status_url = "http://testserver" + selectors.withdrawal_status_path(withdrawal)
    for body in (message.body, html_of(message)):
        assert withdrawal.reference in body
        assert DUE_TEXT[language] in body
        assert status_url in body


def test_privacy_mailbox_gets_the_written_application_with_every_detail(settings):
    settings.PRIVACY_MAILBOX_LANGUAGE = "ru"
    user = UserFactory(email="member@example.kz")
    with time_machine.travel(REGISTERED, tick=False):
        withdrawal = submit(
            requester=user,
            scope="partial",
            purposes=["marketing", "contests"],
            language="en",
            reason="Too many messages & offers",
        )
    row, message = deliver("withdrawal_application")
    assert row.to == "info@alilo.kz" and row.language == "ru"
    assert message.reply_to == ["member@example.kz"]
    assert withdrawal.reference in message.subject and "Aigerim Nurlanovna" in message.subject
    admin_url = f"http://testserver/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/change/"
    text = message.body
    for detail in (
        withdrawal.reference,
        "Aigerim Nurlanovna",
        "member@example.kz",
        "+77011234567",
        "Too many messages & offers",
        "203.0.113.5",
        "pytest",
        f"#{user.pk}",
        DUE_TEXT["ru"],
        admin_url,
    ):
        assert detail in text, detail
    assert "&amp;" not in text  # plain text is not HTML-escaped
    html = html_of(message)
    assert "Too many messages &amp; offers" in html and admin_url in html
    assert len(row.context["purposes"]) == 2


@pytest.mark.parametrize(
    ("filed_by", "line"),
    [
        ("unverified account", "Account address confirmed: yes"),
        ("verified account", "Account address confirmed: yes"),
        ("visitor", "Email confirmed: yes"),
    ],
)
def test_application_says_plainly_whether_the_address_was_confirmed(settings, filed_by, line):
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"
    if filed_by == "visitor":
        verified(email="visitor@example.kz")
    else:
        user = UserFactory(email="member@example.kz", unverified=filed_by == "unverified account")
        withdrawal = submit(requester=user)
        if filed_by == "unverified account":
            # Nothing reaches the mailbox until the link sent to the account's address is used.
            assert not OutboxEmail.objects.filter(template="withdrawal_application").exists()
            services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    _row, message = deliver("withdrawal_application")
    assert line in message.body
    label, value = line.split(": ")
    assert re.search(rf"{label}</td><td>(<strong>)?{value}(</strong>)?</td>", html_of(message))


def test_confirm_email_has_the_link_and_its_lifetime():
    withdrawal = submit(language="en")
    row, message = deliver("withdrawal_confirm")
    assert row.to == withdrawal.email
    assert "http://testserver/privacy/withdraw/confirm/" in message.body
    assert "48 hours" in message.body
    assert "http://testserver/privacy/withdraw/confirm/" in html_of(message)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_information_request_email_carries_the_question(language):
    staff = StaffFactory()
    withdrawal = in_review(staff=staff, language=language)
    services.withdrawal_request_information_ask(
        withdrawal=withdrawal, actor=staff, message="Which phone number did you use?"
    )
    row, message = deliver("withdrawal_information_requested")
    assert row.language == language and row.to == withdrawal.email
    assert "Which phone number did you use?" in message.body
    assert selectors.withdrawal_status_path(withdrawal) in message.body


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_decision_emails_in_the_requesters_language(language):
    staff = StaffFactory()
    granted = in_review(staff=staff, language=language, email="g@example.kz")
    services.withdrawal_request_grant(withdrawal=granted, actor=staff)
    row, message = deliver("withdrawal_granted")
    assert row.language == language and granted.reference in message.subject
    refused = in_review(staff=staff, language=language, email="r@example.kz")
    services.withdrawal_request_refuse(withdrawal=refused, actor=staff, reason="Debt <unpaid>")
    row, message = deliver("withdrawal_refused")
    assert row.language == language
    assert "Debt <unpaid>" in message.body and "Debt &lt;unpaid&gt;" in html_of(message)


def test_english_decision_texts_say_what_was_done():
    staff = StaffFactory()
    full = in_review(staff=staff, language="en", email="full@example.kz")
    services.withdrawal_request_grant(withdrawal=full, actor=staff)
    _, message = deliver("withdrawal_granted")
    assert "your user agreement has ended" in message.body
    OutboxEmail.objects.all().delete()
    partial = in_review(
        staff=staff, language="en", email="p@example.kz", scope="partial", purposes=["contests"]
    )
    services.withdrawal_request_grant(withdrawal=partial, actor=staff)
    _, message = deliver("withdrawal_granted")
    assert "Taking part in contests" in message.body and "agreement has ended" not in message.body


def test_third_party_instruction_names_the_person_and_the_deadline():
    staff = StaffFactory()
    ThirdPartyFactory(name="Delivery LLP", contact_email="dpo@delivery.kz", language="en")
    with time_machine.travel(REGISTERED, tick=False):
        withdrawal = in_review(staff=staff)
        services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    row, message = deliver("withdrawal_third_party")
    assert row.to == "dpo@delivery.kz" and message.reply_to == ["info@alilo.kz"]
    assert "Delivery LLP" in message.body and "Aigerim Nurlanovna" in message.body
    assert withdrawal.email in message.body and DUE_TEXT["en"] in message.body
    assert "Stop all processing" in message.body


def test_digest_email_lists_the_requests_with_admin_links(settings):
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"
    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=ALMATY), tick=False):
        withdrawal = verified()
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=ALMATY), tick=False):
        services.withdrawal_due_digest_send()
    _, message = deliver("withdrawal_due_digest")
    assert "1 overdue, 0 due soon" in message.subject
    assert withdrawal.reference in message.body
    assert f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/change/" in message.body
