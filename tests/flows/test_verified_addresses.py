"""Only confirmed addresses are trusted: an account that merely claims an address (anyone may sign up with
any address) accepts the policy on record as unconfirmed, files withdrawals that wait for the link sent to the
address, as a visitor's do, and never sees a request the address's owner filed; sign-up
with a taken address creates nothing, signs nobody in and never says the address has an account."""

import pytest
from django.contrib.auth import get_user_model

from apps.acceptances.models import Acceptance
from apps.withdrawals.models import WithdrawalRequest

from .support import (
    PASSWORD,
    Visitor,
    confirm_address,
    deliver_emails,
    emails_to,
    link_in,
    publish_version,
    sign_up,
    the_email,
)

pytestmark = pytest.mark.django_db(transaction=True)

OWNER = "dana@example.kz"


def file_withdrawal(visitor: Visitor, **data):
    form = visitor.get("/privacy/withdraw/")
    fields = {"scope": "all", "acknowledgement": "on", "reason": "I no longer use the services."}
    return visitor.submit(form, has='name="submission_token"', **{**fields, **data})


def sign_up_page(visitor: Visitor, email: str, *, full_name: str):
    page = visitor.get("/accounts/signup/")
    return visitor.submit(
        page,
        has='name="accept_policy"',
        full_name=full_name,
        email=email,
        language="en",
        password1=PASSWORD,
        password2=PASSWORD,
        accept_policy="on",
    )


def test_an_account_squatting_an_address_never_reaches_its_owners_request(policy_in_force, settings):
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"
    squatter, account = sign_up(OWNER, full_name="Not Dana", confirm=False)
    assert "not confirmed" in squatter.get("/accounts/")
    signup_acceptance = Acceptance.objects.get(user=account)
    assert signup_acceptance.email_verified is False
    assert "email address not confirmed" in squatter.get("/privacy/me/")

    # Filed signed in, the request gets its reference at once but waits for the link, as a visitor's does:
    # the link goes to the address (the owner's mailbox), and nothing reaches the privacy mailbox.
    form = squatter.get("/privacy/withdraw/")
    assert "email address is not confirmed yet, so we check it as for anyone" in form
    page = file_withdrawal(squatter)
    assert page.path == "/privacy/withdraw/sent/"
    squatters = WithdrawalRequest.objects.get()
    assert (squatters.status, squatters.requester) == ("unverified", account)
    assert squatters.reference in page and squatters.requester_email_verified is False
    sent = deliver_emails()
    assert emails_to(settings.PRIVACY_MAILBOX, sent) == []
    [link_mail] = [message for message in emails_to(OWNER, sent) if "Confirm your request" in message.subject]
    assert "Not Dana" not in link_mail.body  # nothing the squatter typed reaches the owner

    # The owner files from the address and confirms from the mailbox, with a phone and a private reason.
    owner = Visitor()
    file_withdrawal(
        owner, full_name="Dana Owner", email=OWNER, phone="8 701 555 0101", reason="Private reason."
    )
    sent = deliver_emails()
    confirms = [message for message in emails_to(OWNER, sent) if "Confirm your request" in message.subject]
    button = owner.get(link_in(confirms[-1], "/privacy/withdraw/confirm/"))
    page = owner.submit(button, has="Confirm my request")
    owners = WithdrawalRequest.objects.get(full_name="Dana Owner")
    assert owners.status == "submitted" and owners.requester is None and owners.requester_email_verified
    assert page.path.startswith("/privacy/withdraw/status/")
    application = the_email(settings.PRIVACY_MAILBOX, deliver_emails(), subject=owners.reference)
    assert "Email confirmed: yes" in application.body and "Ask them to confirm" not in application.body

    mine = squatter.get("/privacy/me/")
    assert squatters.reference not in mine  # never confirmed, never registered
    assert owners.reference not in mine and "Private reason." not in mine and "701" not in mine
    assert page.path not in mine.links("/privacy/withdraw/status/")

    # The owner signs up with the address: nothing is made, nobody is signed in, the answer never says the
    # address has an account, and the owner's mailbox is told.
    taken = sign_up_page(owner, OWNER, full_name="Dana Owner")
    assert taken.path == "/accounts/login/" and "If this address is new to us, check your email" in taken
    assert "already exists" not in taken and "Log out" not in taken
    assert owner.get("/accounts/").path == "/accounts/login/"  # signed in as nobody
    assert get_user_model().objects.filter(email=OWNER).count() == 1
    sent = deliver_emails()
    notice = the_email(OWNER, sent, subject="Someone tried to sign up with your email address")
    assert "Not Dana" not in notice.body  # nothing the squatter typed
    reset = owner.get(link_in(notice, "/accounts/reset/"))
    assert 'name="email"' in reset.html


def test_a_member_who_confirmed_the_address_withdraws_at_once_and_sees_requests_filed_from_it(
    policy_in_force, settings
):
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"
    member, account = sign_up("aigul@example.kz", full_name="Aigul Seitkali")
    account.refresh_from_db()
    assert account.email_verified_at is not None and "confirmed on" in member.get("/accounts/")
    # Accepted at sign-up, before the address was confirmed; the next version after.
    publish_version(2, summary="Clause 2.1 now lists deliveries")
    member.submit(member.get("/"), action="/privacy/accept/2/")
    evidence = dict(Acceptance.objects.filter(user=account).values_list("version__number", "email_verified"))
    assert evidence == {1: False, 2: True}

    page = file_withdrawal(member, scope="partial", purposes=["marketing"], acknowledgement=None)
    assert page.path.startswith("/privacy/withdraw/status/")
    signed_in = WithdrawalRequest.objects.get()
    assert signed_in.status == "submitted" and signed_in.requester == account
    assert signed_in.requester_email_verified is True
    application = the_email(settings.PRIVACY_MAILBOX, deliver_emails(), subject=signed_in.reference)
    assert "Account address confirmed: yes" in application.body and "Ask them" not in application.body

    visitor = Visitor()
    file_withdrawal(visitor, full_name="Aigul Seitkali", email="Aigul@Example.kz")
    sent = deliver_emails()
    confirm = [message for message in emails_to("aigul@example.kz", sent) if "Confirm" in message.subject]
    visitor.submit(visitor.get(link_in(confirm[-1], "/privacy/withdraw/confirm/")), has="Confirm my request")
    from_the_address = WithdrawalRequest.objects.exclude(pk=signed_in.pk).get()
    assert from_the_address.status == "submitted" and from_the_address.requester == account

    mine = member.get("/privacy/me/")
    assert signed_in.reference in mine and from_the_address.reference in mine


def test_the_confirm_link_works_once(policy_in_force):
    visitor, _account = sign_up("ivan@example.kz", full_name="Ivan Petrov", confirm=False)
    page = confirm_address(visitor, "ivan@example.kz")
    assert page.path == "/accounts/" and "Your email address is confirmed." in page
    sent = [message for message in emails_to("ivan@example.kz") if "/accounts/verify/" in message.body]
    again = visitor.get(link_in(sent[-1], "/accounts/verify/"))
    used = visitor.submit(again, has='class="verify-email"')
    assert used.status == 404 and "This link does not work" in used
