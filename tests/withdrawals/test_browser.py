"""Real Chromium: a visitor files a request, confirms it from the email and follows it; staff grant it."""

import re

import pytest
from django.core import mail

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals.models import WithdrawalRequest
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import ThirdPartyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def read_link(template: str, pattern: str) -> str:
    """Deliver the newest outbox email of this template and return the path of the link in it."""
    row = OutboxEmail.objects.filter(template=template).latest("id")
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[row.pk])
    return re.search(pattern, mail.outbox[0].body).group(1)


def test_visitor_files_confirms_from_the_email_and_sees_the_status(page):
    page.goto("/")
    page.locator(".language-switcher button[value=en]").click()
    page.locator(".site-nav").get_by_role("link", name="Your rights").click()
    assert page.url.endswith("/privacy/requests/")
    page.get_by_role("link", name="Withdraw my consent").click()
    assert page.url.endswith("/privacy/withdraw/")
    # Partial scope without a purpose is refused with a clear error and nothing stored.
    page.get_by_label("Full name").fill("Aigerim Nurlanovna")
    page.get_by_label("Email").fill("aigerim@example.kz")
    page.get_by_label("Selected purposes").check()
    page.get_by_role("button", name="Send my request").click()
    # The error summary at the top links to the field; the field repeats the message.
    summary_link = page.get_by_role("link", name="Tick at least one purpose, or choose all processing.")
    assert summary_link.is_visible() and summary_link.get_attribute("href") == "#id_purposes_0"
    assert page.get_by_text("Error: Tick at least one purpose, or choose all processing.").is_visible()
    assert not WithdrawalRequest.objects.exists()
    page.get_by_label("Marketing research").check()
    page.get_by_label("Taking part in contests").check()
    page.get_by_label("Reason (optional)").fill("Too many calls.")
    page.get_by_role("button", name="Send my request").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert WithdrawalRequest.objects.get().status == "unverified"

    confirm_path = read_link("withdrawal_confirm", r"https?://[^/\s]+(/privacy/withdraw/confirm/\S+/)")
    page.goto(confirm_path)
    page.get_by_role("button", name="Confirm my request").click()
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.status == "submitted"
    page.get_by_role("heading", name=f"Your request {withdrawal.reference}").wait_for()
    assert page.get_by_text("Submitted", exact=True).first.is_visible()
    assert page.get_by_text("Marketing research").is_visible()
    assert page.get_by_text("We answer by").is_visible()

    # The receipt email carries the same private status link.
    status_path = read_link("withdrawal_received", r"https?://[^/\s]+(/privacy/withdraw/status/\S+/)")
    assert page.url.endswith(status_path)


def test_staff_grant_a_request_in_the_admin(page, live_server):
    staff = StaffFactory(email="officer@alilo.kz", language="en")
    member = UserFactory(email="member@example.kz")
    ThirdPartyFactory(name="Courier LLP", contact_email="dpo@courier.kz")
    from tests.withdrawals.factories import verified

    withdrawal = verified(requester=member, email=member.email)
    page.goto("/admin/login/")
    page.locator("#id_username").fill(staff.email)
    page.locator("#id_password").fill("correct-horse-battery")
    page.locator("input[type=submit]").click()
    page.goto("/admin/withdrawals/withdrawalrequest/")
    page.get_by_role("link", name=withdrawal.reference).click()
    page.get_by_role("button", name="Start review").click()
    page.get_by_text("Review started.").wait_for()
    page.get_by_label("I have checked the request; apply the withdrawal.").check()
    page.get_by_role("button", name="Grant the withdrawal").click()
    page.get_by_text("Withdrawal granted.").wait_for()
    withdrawal.refresh_from_db()
    member.refresh_from_db()
    assert withdrawal.status == "granted" and withdrawal.assignee == staff
    assert member.agreement_status == "ended" and member.consent_withdrawn_at is not None
    assert OutboxEmail.objects.filter(template="withdrawal_third_party", to="dpo@courier.kz").exists()
    assert page.locator(".wd-email-row", has_text="dpo@courier.kz").is_visible()
