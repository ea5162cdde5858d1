"""The name a requester types goes into Alilo-branded emails only shortened, and never first.

Anyone may type any 200 characters as "name" and any address as "email": the confirmation email to that
address, not yet known to be theirs, carries no name at all; every other email cuts it to a name's length,
and no subject or greeting starts with it.
"""

import uuid

import pytest
from django.core import mail

from apps.core.templatetags.email_text import short_name
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals import services
from apps.withdrawals.models import WithdrawalRequest
from apps.withdrawals.tokens import confirm_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import ThirdPartyFactory

pytestmark = pytest.mark.django_db

PHISHING = "Your Alilo account is blocked. To keep it, call +7 700 000 00 00 and give the code from the SMS"
LONG_NAME = f"{PHISHING} " + "x" * (200 - len(PHISHING) - 1)
SHORT_NAME = short_name(LONG_NAME)


def test_a_name_is_shortened_to_a_names_length():
    assert SHORT_NAME == "Your Alilo account is blocked. To keep it, call +…" and len(SHORT_NAME) == 50
    assert short_name("  Aigerim \r\n Nurlanovna ") == "Aigerim Nurlanovna"


def _deliver() -> list:
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=list(OutboxEmail.objects.values_list("pk", flat=True)))
    return list(mail.outbox)


def _file(client, *, name: str, language: str) -> WithdrawalRequest:
    data = {
        "full_name": name,
        "email": "someone.else@example.kz",
        "scope": "all",
        "acknowledgement": "on",
        "submission_token": str(uuid.uuid4()),
    }
    assert client.post("/privacy/withdraw/", data, HTTP_ACCEPT_LANGUAGE=language).status_code == 302
    return WithdrawalRequest.objects.get()


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_confirmation_to_an_unverified_address_carries_no_name(client, language):
    _file(client, name=PHISHING, language=language)
    (message,) = _deliver()
    assert message.to == ["someone.else@example.kz"]
    for text in (message.subject, message.body, message.alternatives[0][0]):
        assert "blocked" not in text and "+7 700" not in text


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_every_email_shortens_the_name_and_starts_with_fixed_text(client, language, settings):
    settings.PRIVACY_MAILBOX_LANGUAGE = language
    ThirdPartyFactory(language=language)
    staff = StaffFactory(language=language)
    withdrawal = _file(client, name=LONG_NAME, language=language)
    services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    withdrawal.refresh_from_db()
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Which city?")
    services.withdrawal_request_information_provide(withdrawal=withdrawal, answer="Almaty")
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    messages = _deliver()
    templates = set(OutboxEmail.objects.values_list("template", flat=True))
    assert {"withdrawal_application", "withdrawal_third_party", "withdrawal_received"} <= templates
    for message in messages:
        first_line = message.body.lstrip().splitlines()[0]
        for start in (message.subject, first_line):
            assert not start.startswith(LONG_NAME[:10]), start
        assert LONG_NAME not in message.subject
        if "Your Alilo" in message.subject:
            assert message.subject.endswith(SHORT_NAME)
    application = next(m for m in messages if m.to == [settings.PRIVACY_MAILBOX] and "—" in m.subject)
    # The written application itself keeps the whole name as the requester wrote it.
    assert LONG_NAME in application.body


def test_the_password_reset_greeting_shortens_the_name(client):
    UserFactory(email="member@example.kz", full_name=LONG_NAME, language="en")
    assert client.post("/accounts/reset/", {"email": "member@example.kz"}).status_code == 302
    (message,) = _deliver()
    assert message.body.startswith(f"Hello {SHORT_NAME},")
    assert LONG_NAME not in message.body and LONG_NAME not in message.alternatives[0][0]
