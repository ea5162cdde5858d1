"""Withdrawal of consent (policy clause 2.6): filed signed in or anonymously, then processed by staff."""

import re

import pytest
from django.conf import settings

from apps.accounts.roles import POLICY_EDITOR, PRIVACY_OFFICER
from apps.audit.models import AuditEvent
from apps.withdrawals.models import TimelineEntry, WithdrawalRequest
from tests.roles.conftest import member
from tests.withdrawals.factories import ThirdPartyFactory, verified

from .support import PASSWORD, Visitor, deliver_emails, emails_to, link_in, log_in_member, the_email

pytestmark = pytest.mark.django_db(transaction=True)

REFERENCE = re.compile(r"WR-\d{4}-\d{6}")
CHANGELIST = "/admin/withdrawals/withdrawalrequest/"


def file_withdrawal(visitor: Visitor, **data):
    form = visitor.get("/privacy/withdraw/")
    fields = {"scope": "all", "acknowledgement": "on", "reason": "I no longer use the services."}
    return visitor.submit(form, has='name="submission_token"', **{**fields, **data})


def officer_at_the_request(withdrawal: WithdrawalRequest) -> tuple[Visitor, object]:
    """A privacy officer logs in to the admin and opens the request from the list."""
    officer = member(
        PRIVACY_OFFICER, email="officer@alilo.kz", full_name="Privacy Officer", password=PASSWORD
    )
    staff = Visitor()
    staff.log_in(officer.email, path="/admin/login/")
    listing = staff.get(CHANGELIST)
    assert withdrawal.reference in listing
    change = f"{CHANGELIST}{withdrawal.pk}/change/"
    assert listing.links(change) == [change]
    return staff, officer


def test_member_withdraws_signed_in_and_gets_the_reference_and_status_link_by_email(policy_in_force):
    visitor, user = log_in_member("aigul@example.kz", full_name="Aigul Seitkali")
    form = visitor.get("/privacy/withdraw/")
    assert 'value="aigul@example.kz"' in form.html and "Aigul Seitkali" in form

    page = file_withdrawal(visitor, email="someone.else@example.kz")

    withdrawal = WithdrawalRequest.objects.get()
    assert (withdrawal.status, withdrawal.requester, withdrawal.email) == (
        "submitted",
        user,
        "aigul@example.kz",
    )
    assert REFERENCE.fullmatch(withdrawal.reference) and withdrawal.due_at is not None
    assert page.path.startswith("/privacy/withdraw/status/")
    assert f"Your request {withdrawal.reference} is registered." in page

    sent = deliver_emails()
    receipt = the_email("aigul@example.kz", sent, subject=withdrawal.reference)
    assert "is registered" in receipt.subject
    status_link = link_in(receipt, "/privacy/withdraw/status/")
    application = the_email(settings.PRIVACY_MAILBOX, sent, subject=withdrawal.reference)
    assert "Aigul Seitkali" in application.subject and application.reply_to == ["aigul@example.kz"]
    assert "aigul@example.kz" in application.body and "I no longer use the services." in application.body

    assert withdrawal.reference in Visitor().get(status_link)  # the emailed link works without logging in
    mine = visitor.get("/privacy/me/")
    assert withdrawal.reference in mine and "Submitted" in mine
    assert mine.links("/privacy/withdraw/status/") == [page.path]


def test_visitor_withdraws_and_registers_the_request_from_the_emailed_confirm_link(transactional_db):
    visitor = Visitor()
    page = file_withdrawal(
        visitor, full_name="Ivan Petrov", email="Ivan.Petrov@example.kz", phone="8 701 234 5678"
    )

    assert page.path == "/privacy/withdraw/sent/" and "ivan.petrov@example.kz" in page
    withdrawal = WithdrawalRequest.objects.get()
    assert (withdrawal.status, withdrawal.reference, withdrawal.requester) == ("unverified", None, None)
    sent = deliver_emails()
    assert emails_to(settings.PRIVACY_MAILBOX, sent) == []  # nothing is registered before the confirmation
    confirm = the_email("ivan.petrov@example.kz", sent, subject="Confirm your request")
    link = link_in(confirm, "/privacy/withdraw/confirm/")

    button = visitor.get(link)
    assert "Confirm my request" in button
    withdrawal.refresh_from_db()
    assert withdrawal.status == "unverified"  # opening the link (a mail scanner may) confirms nothing
    page = visitor.submit(button, has="Confirm my request")

    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted" and REFERENCE.fullmatch(withdrawal.reference)
    assert page.path.startswith("/privacy/withdraw/status/") and withdrawal.reference in page
    sent = deliver_emails()
    application = the_email(settings.PRIVACY_MAILBOX, sent, subject=withdrawal.reference)
    assert str(withdrawal.phone) == "+77012345678" and application.reply_to == ["ivan.petrov@example.kz"]
    for fact in ("Ivan Petrov", "ivan.petrov@example.kz", "+77012345678", "Mozilla/5.0 (flows)"):
        assert fact in application.body, fact
    receipt = the_email("ivan.petrov@example.kz", sent, subject=withdrawal.reference)
    assert urlpath(link_in(receipt, "/privacy/withdraw/status/")) == page.path
    assert Visitor().get(link).path == page.path  # the used link leads to the request's page


def urlpath(url: str) -> str:
    return url.removeprefix(settings.SITE_URL)


def test_staff_assign_review_ask_then_grant_after_the_requesters_answer(policy_in_force):
    requester, user = log_in_member("aigul@example.kz", full_name="Aigul Seitkali")
    file_withdrawal(requester)
    withdrawal = WithdrawalRequest.objects.get()
    ThirdPartyFactory(name="Delivery LLP", contact_email="dpo@delivery.kz", language="en")
    deliver_emails()
    staff, officer = officer_at_the_request(withdrawal)
    change = f"{CHANGELIST}{withdrawal.pk}/change/"

    page = staff.get(change)
    assert withdrawal.reference in page and "aigul@example.kz" in page
    page = staff.submit(page, action="/workflow/assign/", assignee=officer.pk)
    assert "Assigned to officer@alilo.kz." in page
    page = staff.submit(page, action="/workflow/review/")
    assert "Review started." in page
    page = staff.submit(page, action="/workflow/ask/", message="Which shop did you register in?")
    assert "The term keeps running while you wait." in page
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.assignee) == ("awaiting_information", officer)
    assert withdrawal.pause_started_at is not None

    question = the_email("aigul@example.kz", deliver_emails(), subject="we need more information")
    assert "Which shop did you register in?" in question.body
    status = requester.get(link_in(question, "/privacy/withdraw/status/"))
    assert "Which shop did you register in?" in status
    answered = requester.submit(status, action="/answer/", answer="Mega Almaty, in March.")
    assert "Thank you. We have your answer" in answered
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review" and withdrawal.pause_started_at is None
    update = the_email(officer.email, deliver_emails(), subject=withdrawal.reference)
    assert "Mega Almaty, in March." in update.body and update.reply_to == ["aigul@example.kz"]

    page = staff.get(change)
    assert "Mega Almaty, in March." in page
    page = staff.submit(page, action="/workflow/grant/", confirm="on")
    assert "Withdrawal granted." in page

    withdrawal.refresh_from_db()
    user.refresh_from_db()
    assert withdrawal.status == "granted" and withdrawal.decided_at is not None
    assert user.agreement_status == "ended" and user.agreement_ended_at == withdrawal.decided_at
    assert user.consent_withdrawn_at == withdrawal.decided_at
    kinds = list(
        TimelineEntry.objects.filter(request=withdrawal).order_by("pk").values_list("kind", flat=True)
    )
    for kind in ("assigned", "review_started", "information_requested", "information_provided", "granted"):
        assert kind in kinds, kinds
    actions = set(AuditEvent.objects.filter(target_id=str(withdrawal.pk)).values_list("action", flat=True))
    assert {
        "withdrawal.view",
        "withdrawal.assign",
        "withdrawal.grant",
        "withdrawal.information_request",
    } <= actions
    assert AuditEvent.objects.filter(action="account.agreement_ended", target_id=str(user.pk)).exists()

    sent = deliver_emails()
    granted = the_email("aigul@example.kz", sent, subject="is granted")
    assert "your user agreement has ended" in granted.body
    partner = the_email("dpo@delivery.kz", sent, subject=withdrawal.reference)
    assert "Aigul Seitkali" in partner.body and partner.reply_to == [settings.PRIVACY_MAILBOX]
    assert "Granted" in requester.get(link_in(granted, "/privacy/withdraw/status/"))


def test_staff_refuse_with_a_written_reason_and_the_requester_reads_it(transactional_db):
    withdrawal = verified(email="ivan@example.kz", language="en")
    deliver_emails()
    editor = member(POLICY_EDITOR, email="editor@alilo.kz", password=PASSWORD)
    outsider = Visitor()
    outsider.log_in(editor.email, path="/admin/login/")
    refused = outsider.post(f"{CHANGELIST}{withdrawal.pk}/workflow/refuse/", {"reason": "No."})
    assert refused.status == 403  # a policy editor has no say on withdrawals
    staff, officer = officer_at_the_request(withdrawal)
    change = f"{CHANGELIST}{withdrawal.pk}/change/"

    page = staff.submit(staff.get(change), action="/workflow/assign_me/")
    assert "Assigned to you." in page
    page = staff.submit(page, action="/workflow/review/")
    page = staff.submit(page, action="/workflow/refuse/", reason="   ")
    assert "A refusal needs a written reason." in page
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review"
    reason = "An order you placed is still being delivered (Law on Personal Data, Art. 8(2))."
    page = staff.submit(page, action="/workflow/refuse/", reason=reason)
    assert "Withdrawal refused." in page

    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.decision_reason, withdrawal.assignee) == (
        "refused",
        reason,
        officer,
    )
    assert AuditEvent.objects.filter(action="withdrawal.refuse", target_id=str(withdrawal.pk)).count() == 1
    letter = the_email("ivan@example.kz", deliver_emails(), subject="is refused")
    assert reason in letter.body
    status = Visitor().get(link_in(letter, "/privacy/withdraw/status/"))
    assert "Refused" in status and reason in status
