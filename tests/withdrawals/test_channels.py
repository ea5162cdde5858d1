"""Applications from every channel, third parties' confirmations, and the small promises of clause 2.6:
a Privacy officer registers an application received by email, post or in person; its term counts from the
day it arrived; the requester's confirmation and replies reach the privacy mailbox."""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.formats import date_format

from apps.acceptances.services import acceptance_record
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals import selectors, services
from apps.withdrawals.models import ApplicationScan, ThirdPartyNotice, WithdrawalRequest
from tests.accounts.factories import UserFactory
from tests.policies.factories import PolicyVersionFactory
from tests.roles.conftest import member
from tests.withdrawals.factories import ThirdPartyFactory, in_review, submit, verified

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
ADD_URL = "/admin/withdrawals/withdrawalrequest/add/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def change_url(withdrawal):
    return reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])


def step_url(withdrawal, step):
    return reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, step])


def letter(**fields):
    data = {
        "channel": "post",
        "received_at": "2026-06-01T10:30",
        "full_name": "Dana Seitkali",
        "email": "",
        "phone": "",
        "postal_address": "Almaty, Abai avenue 1, flat 2",
        "language": "ru",
        "scope": "all",
        "reason": "Written by hand.",
        "acknowledgement": "on",
    }
    data.update(fields)
    return data


def registered(officer, **fields):
    """A paper application registered by `officer` through the service, as the admin's form does."""
    data = {
        "channel": "post",
        "received_at": datetime(2026, 11, 27, 12, 0, tzinfo=ALMATY),
        "full_name": "Dana Seitkali",
        "email": "dana@example.kz",
        "phone": "",
        "postal_address": "",
        "scope": "all",
        "purposes": [],
        "reason": "",
        "acknowledgement": True,
        "language": "kk",
    }
    data.update(fields)
    return services.withdrawal_request_register_received(actor=officer, **data)


@pytest.fixture
def officer(client):
    user = member("Privacy officer", email="officer@alilo.kz")
    client.force_login(user)
    return user


def test_officer_registers_a_letter_with_its_scan_and_the_term_counts_from_the_day_it_arrived(
    client, officer
):
    with time_machine.travel(datetime(2026, 6, 4, 9, 0, tzinfo=ALMATY), tick=False):
        form = client.get(ADD_URL, HTTP_ACCEPT_LANGUAGE="en")
        assert form.status_code == 200 and "Register an application received by email, post or in person" in (
            form.content.decode()
        )
        scan = SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf")
        response = client.post(ADD_URL, {**letter(), "scan": scan}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    withdrawal = WithdrawalRequest.objects.get()
    assert (withdrawal.channel, withdrawal.status) == ("post", "submitted")
    assert withdrawal.received_at == datetime(2026, 6, 1, 10, 30, tzinfo=ALMATY)
    assert withdrawal.due_at == datetime(2026, 6, 23, tzinfo=ALMATY)  # 15 working days from 1 June
    assert withdrawal.reference == "WR-2026-000001" and withdrawal.email == ""
    assert f"Application registered as {withdrawal.reference}; due by the end of" in response.content.decode()
    assert response.redirect_chain[-1][0] == change_url(withdrawal)
    # The written application reaches the mailbox; there is no address for a receipt.
    assert list(OutboxEmail.objects.values_list("template", flat=True)) == ["withdrawal_application"]
    application = OutboxEmail.objects.get()
    assert application.context["channel"] == "post" and "Abai" in application.context["postal_address"]
    event = AuditEvent.objects.get(action="withdrawal.register_received")
    assert event.actor == officer and event.details["channel"] == "post" and event.details["scan"] is True
    # The scan opens for the officer, as an attachment, and opening it is audited.
    client.force_login(officer)
    page = client.get(change_url(withdrawal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "letter.pdf" in page
    download = client.get(reverse("admin:withdrawals_withdrawalrequest_scan", args=[withdrawal.pk]))
    assert download.status_code == 200 and download.content == PDF
    assert (
        download["Content-Disposition"].startswith("attachment")
        and download["Content-Type"] == "application/pdf"
    )
    assert AuditEvent.objects.filter(action="withdrawal.view", details__view="scan", actor=officer).exists()


def test_an_emailed_application_sends_the_receipt_and_follows_the_same_workflow(client, officer):
    response = client.post(
        ADD_URL,
        letter(channel="email", email="Dana@Example.kz", postal_address="", received_at="2026-11-27T18:05"),
    )
    assert response.status_code == 302
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.email == "dana@example.kz"
    receipt = OutboxEmail.objects.get(template="withdrawal_received")
    assert receipt.to == "dana@example.kz" and receipt.language == "ru"
    assert receipt.reply_to == "info@alilo.kz"
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=officer)
    granted = services.withdrawal_request_grant(withdrawal=withdrawal, actor=officer)
    assert granted.status == "granted"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"received_at": "2999-01-01T10:00"}, "The application cannot have reached us in the future."),
        ({"received_at": "yesterday"}, "Enter the date and time as on the letter"),
        ({"received_at": ""}, "Enter when the application reached us."),
        ({"channel": "web"}, "Select a valid choice."),
        ({"email": "", "postal_address": ""}, "Give an email or a postal address to answer to."),
        ({"acknowledgement": ""}, "needs the requester"),
        ({"scope": "partial"}, "Tick at least one purpose"),
        ({"full_name": "\u202eevil"}, ""),
    ],
)
def test_bad_input_in_the_register_form_is_explained_and_saves_nothing(client, officer, fields, message):
    response = client.post(ADD_URL, letter(**fields), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'class="errornote"' in response.content.decode()
    assert not WithdrawalRequest.objects.exists() and not OutboxEmail.objects.exists()


def test_a_scan_that_is_not_a_document_or_too_large_is_refused(client, officer, settings):
    page = SimpleUploadedFile("page.html", b"<script>alert(1)</script>", content_type="text/html")
    response = client.post(ADD_URL, {**letter(), "scan": page}, HTTP_ACCEPT_LANGUAGE="en")
    assert (
        response.status_code == 400
        and "The scan must be a PDF, JPEG, PNG or TIFF file." in response.content.decode()
    )
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), content_type="application/pdf")
    response = client.post(ADD_URL, {**letter(), "scan": big}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "The scan is larger than 10 MB." in response.content.decode()
    assert not WithdrawalRequest.objects.exists() and not ApplicationScan.objects.exists()


def test_support_and_editors_cannot_register_applications_or_open_scans(client):
    officer = member("Privacy officer", email="officer@alilo.kz")
    withdrawal = registered(
        officer,
        channel="in_person",
        scan=SimpleUploadedFile("a.png", b"\x89PNG\r\n", content_type="image/png"),
    )
    for role in ("Support", "Policy editor"):
        client.force_login(member(role, email=f"{role.split()[0].lower()}@alilo.kz"))
        assert client.get(ADD_URL).status_code == 403
        assert client.post(ADD_URL, letter()).status_code == 403
        scan = client.get(reverse("admin:withdrawals_withdrawalrequest_scan", args=[withdrawal.pk]))
        assert scan.status_code in (403, 404)
    assert WithdrawalRequest.objects.count() == 1


def test_application_names_the_accepted_versions_and_the_accounts_own_name(settings):
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"
    user = UserFactory(full_name="Never Back", email="never@example.kz")
    for number, method, day in (
        (1, "signup", datetime(2026, 1, 5, 9, 0, tzinfo=ALMATY)),
        (2, "explicit", None),
    ):
        with time_machine.travel(day or datetime(2026, 3, 2, 9, 0, tzinfo=ALMATY), tick=False):
            version = PolicyVersionFactory(number=number, published=True)
            acceptance_record(user=user, version=version, method=method, channel="web", language="en")
    submit(requester=user, full_name="Someone Else Entirely")
    application = OutboxEmail.objects.get(template="withdrawal_application")
    versions = application.context["accepted_versions"]
    assert [(row["number"], row["method"]) for row in versions] == [(2, "Accept button"), (1, "At sign-up")]
    assert application.context["account_name"] == "Never Back"
    outbox_emails_deliver(email_ids=[application.pk])
    body = mail.outbox[-1].body
    assert "I, Never Back, holder of the account never@example.kz, withdraw" in body
    assert "The name typed in the form differs from the account's: Someone Else Entirely." in body
    assert "version 2, " in body and "Accept button" in body and "version 1, " in body


def test_third_parties_confirmations_are_recorded_once_and_flagged_when_late(client, officer):
    ThirdPartyFactory(name="Kaspi"), ThirdPartyFactory(name="Halyk")
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=ALMATY), tick=False):
        withdrawal = in_review(staff=officer)
        services.withdrawal_request_grant(withdrawal=withdrawal, actor=officer)
    notices = {
        notice.third_party.name: notice for notice in ThirdPartyNotice.objects.select_related("third_party")
    }
    assert set(notices) == {"Kaspi", "Halyk"} and all(n.confirmed_at is None for n in notices.values())
    with time_machine.travel(datetime(2026, 6, 5, 10, 0, tzinfo=ALMATY), tick=False):
        response = client.post(
            step_url(withdrawal, "third_party_confirm"),
            {"notice": notices["Kaspi"].pk, "confirmed_on": "2026-06-04", "note": "Their letter 12/45"},
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        )
        assert "Confirmation from Kaspi recorded." in response.content.decode()
        again = client.post(
            step_url(withdrawal, "third_party_confirm"),
            {"notice": notices["Kaspi"].pk, "confirmed_on": "2026-06-05", "note": "Again"},
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        )
        assert "confirmation is recorded already." in again.content.decode()
        future = client.post(
            step_url(withdrawal, "third_party_confirm"),
            {"notice": notices["Halyk"].pk, "confirmed_on": "2026-06-30", "note": "Soon"},
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        )
        assert "The confirmation cannot be in the future." in future.content.decode()
    kaspi = ThirdPartyNotice.objects.get(pk=notices["Kaspi"].pk)
    assert kaspi.confirmed_by == officer and kaspi.confirmation_note == "Their letter 12/45"
    assert kaspi.confirmed_at.astimezone(ALMATY).date() == date(2026, 6, 4)
    assert AuditEvent.objects.filter(action="withdrawal.third_party_confirm").count() == 1
    assert list(selectors.third_party_notices_unconfirmed()) == [notices["Halyk"]]
    # Past the request's term, the unconfirmed one is overdue on the page, the dashboard and the digest.
    with time_machine.travel(datetime(2026, 6, 24, 9, 0, tzinfo=ALMATY), tick=False):
        client.force_login(officer)
        page = client.get(change_url(withdrawal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "not confirmed, overdue" in page and "Their letter 12/45" in page
        assert selectors.withdrawal_dashboard_figures().third_parties_unconfirmed == 1
        digest = services.withdrawal_due_digest_send()
        listed = client.get("/admin/withdrawals/withdrawalrequest/?third_parties=unconfirmed")
        assert [obj.pk for obj in listed.context["cl"].queryset] == [withdrawal.pk]
    assert [(row["reference"], row["party"]) for row in digest.context["third_parties"]] == [
        (withdrawal.reference, "Halyk")
    ]


def test_cancelling_is_confirmed_to_the_requester_with_a_reply_to_the_mailbox():
    withdrawal = verified(email="dana@example.kz", language="kk")
    services.withdrawal_request_cancel(withdrawal=withdrawal)
    receipt = OutboxEmail.objects.get(template="withdrawal_cancelled")
    assert (receipt.to, receipt.language, receipt.reply_to) == ("dana@example.kz", "kk", "info@alilo.kz")
    assert OutboxEmail.objects.filter(template="withdrawal_staff_update", to="info@alilo.kz").exists()


def test_every_email_that_invites_a_reply_has_the_mailbox_as_reply_to():
    staff = member("Privacy officer", email="officer@alilo.kz")
    asked = in_review(staff=staff, email="a@example.kz")
    services.withdrawal_request_information_ask(withdrawal=asked, actor=staff, message="Which shop?")
    refused = in_review(staff=staff, email="b@example.kz")
    services.withdrawal_request_refuse(withdrawal=refused, actor=staff, reason="A contract is unfinished.")
    for template in ("withdrawal_information_requested", "withdrawal_refused", "withdrawal_received"):
        for email in OutboxEmail.objects.filter(template=template):
            assert email.reply_to == "info@alilo.kz", template


def test_the_same_form_sent_again_after_back_shows_the_request_it_made(client):
    user = UserFactory(email="member@example.kz", language="en")
    client.force_login(user)
    data = {
        "full_name": user.full_name,
        "scope": "all",
        "reason": "Done with it.",
        "acknowledgement": "on",
    }
    first = client.post("/privacy/withdraw/", {**data, "submission_token": str(uuid.uuid4())}, follow=True)
    again = client.post(
        "/privacy/withdraw/",
        {**data, "submission_token": str(uuid.uuid4())},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    withdrawal = WithdrawalRequest.objects.get()
    assert first.redirect_chain[-1][0] == again.redirect_chain[-1][0]
    assert (
        f"You sent this request already; it is registered as {withdrawal.reference}."
        in again.content.decode()
    )
    assert OutboxEmail.objects.filter(template="withdrawal_application").count() == 1


def test_a_visitor_who_sends_the_form_again_gets_the_link_again_not_a_second_request(client):
    data = {
        "full_name": "Dana Seitkali",
        "email": "dana@example.kz",
        "scope": "all",
        "reason": "",
        "acknowledgement": "on",
    }
    for _ in range(2):
        response = client.post("/privacy/withdraw/", {**data, "submission_token": str(uuid.uuid4())})
        assert response.status_code == 302 and response["Location"] == reverse("withdrawals:sent")
    assert WithdrawalRequest.objects.count() == 1
    assert OutboxEmail.objects.filter(template="withdrawal_confirm", to="dana@example.kz").count() == 2


def test_a_letter_ends_an_account_only_when_staff_name_it(client, officer):
    holder = UserFactory(email="dana@example.kz")
    stranger_claim = registered(officer)
    services.withdrawal_request_review_start(withdrawal=stranger_claim, actor=officer)
    services.withdrawal_request_grant(withdrawal=stranger_claim, actor=officer)
    holder.refresh_from_db()
    # An address typed from a letter proves nothing: the account with it is left as it was.
    assert holder.agreement_status == "active"
    response = client.post(ADD_URL, letter(email="dana@example.kz", account=str(holder.pk)))
    assert response.status_code == 302
    named = WithdrawalRequest.objects.get(requester=holder)
    services.withdrawal_request_review_start(withdrawal=named, actor=officer)
    services.withdrawal_request_grant(withdrawal=named, actor=officer)
    holder.refresh_from_db()
    assert holder.agreement_status == "ended"
    missing = client.post(ADD_URL, letter(account="999999"), HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 400 and "There is no account with this number." in missing.content.decode()


def test_a_visitor_sending_a_form_that_matches_someone_elses_request_learns_no_reference(client):
    owner = verified(email="dana@example.kz", full_name="Dana Seitkali", reason="")
    data = {
        "full_name": "Dana Seitkali",
        "email": "dana@example.kz",
        "scope": "all",
        "reason": "",
        "acknowledgement": "on",
    }
    page = client.post("/privacy/withdraw/", {**data, "submission_token": str(uuid.uuid4())}, follow=True)
    assert owner.reference not in page.content.decode()
    assert WithdrawalRequest.objects.count() == 1


def test_scans_open_only_with_their_own_permission(client):
    officer = member("Privacy officer", email="officer@alilo.kz")
    withdrawal = registered(
        officer,
        email="",
        postal_address="Almaty",
        scan=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"),
    )
    reader = UserFactory(is_staff=True, email="reader@alilo.kz", language="en")
    reader.user_permissions.add(Permission.objects.get(codename="view_withdrawalrequest"))
    client.force_login(reader)
    assert client.get(change_url(withdrawal)).status_code == 200
    assert "a.pdf" not in client.get(change_url(withdrawal)).content.decode()
    assert (
        client.get(reverse("admin:withdrawals_withdrawalrequest_scan", args=[withdrawal.pk])).status_code
        == 403
    )


def test_a_day_off_added_to_the_calendar_moves_the_terms_that_span_it_and_no_others():
    from apps.calendars.models import CalendarException
    from apps.calendars.services import calendar_exception_save

    officer = member("Privacy officer", email="officer@alilo.kz")
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=ALMATY), tick=False):
        spanning = verified(email="a@example.kz")  # due end of 22 June
    with time_machine.travel(datetime(2026, 6, 25, 10, 0, tzinfo=ALMATY), tick=False):
        later = verified(email="b@example.kz")  # received after the changed day
    assert spanning.due_at == datetime(2026, 6, 23, tzinfo=ALMATY)
    later_due = later.due_at
    calendar_exception_save(
        exception=CalendarException(
            day=date(2026, 6, 10), kind=CalendarException.Kind.DAY_OFF, source="Government decree (test)"
        ),
        actor=officer,
    )
    spanning.refresh_from_db()
    later.refresh_from_db()
    assert spanning.due_at == datetime(2026, 6, 24, tzinfo=ALMATY)  # one working day later: 23 June
    assert later.due_at == later_due
    event = AuditEvent.objects.get(action="withdrawal.due_recompute")
    assert event.target_id == str(spanning.pk) and event.details["day"] == "2026-06-10"


def test_on_the_day_it_arrives_a_request_has_its_whole_term_left_and_the_admin_shows_the_date_localised(
    client, officer
):
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=ALMATY), tick=False):
        withdrawal = verified(email="a@example.kz")
        assert selectors.withdrawal_due_state(withdrawal).days_left == 15
        client.force_login(officer)
        page = client.get(change_url(withdrawal)).content.decode()
        expected = date_format(date(2026, 6, 22), "DATE_FORMAT")  # in the staff member's language
    assert expected in page and "2026-06-22" not in page
