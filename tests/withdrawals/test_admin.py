"""Staff processing in the admin: list, filters, workflow buttons, bulk actions, export, audit of views."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.withdrawals import services
from apps.withdrawals.models import WithdrawalRequest
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import ThirdPartyFactory, in_review, submit, verified

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
CHANGELIST = "/admin/withdrawals/withdrawalrequest/"


def change_url(withdrawal):
    return reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])


def step_url(withdrawal, step):
    return reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, step])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def staff(client):
    user = StaffFactory(email="officer@alilo.kz", full_name="Privacy Officer", language="en")
    client.force_login(user)
    return user


def test_change_url_matches_the_link_in_the_application():
    withdrawal = verified()
    assert change_url(withdrawal) == f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/change/"


def test_list_shows_columns_marks_overdue_and_filters(client, staff):
    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=ALMATY), tick=False):
        overdue = verified(email="late@example.kz")
    with time_machine.travel(datetime(2026, 11, 4, 10, 0, tzinfo=ALMATY), tick=False):
        soon = verified(email="soon@example.kz", scope="partial", purposes=["marketing"])
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=ALMATY), tick=False):
        later = verified(email="later@example.kz")
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=ALMATY), tick=False):
        page = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert overdue.reference in page and "late@example.kz" in page
        assert "wd-overdue" in page and "wd-soon" in page
        filtered = client.get(CHANGELIST + "?due=overdue").content.decode()
        assert overdue.reference in filtered and soon.reference not in filtered
        filtered = client.get(CHANGELIST + "?due=soon").content.decode()
        assert (
            soon.reference in filtered
            and overdue.reference not in filtered
            and later.reference not in filtered
        )
        by_scope = client.get(CHANGELIST + "?scope__exact=partial").content.decode()
        assert soon.reference in by_scope and overdue.reference not in by_scope
        by_status = client.get(CHANGELIST + "?status__exact=submitted").content.decode()
        assert later.reference in by_status
        searched = client.get(CHANGELIST + "?q=later@example").content.decode()
        assert later.reference in searched and overdue.reference not in searched
        searched = client.get(CHANGELIST + f"?q={overdue.reference}").content.decode()
        assert overdue.reference in searched and later.reference not in searched


def test_filter_by_assignee(client, staff):
    mine = verified(email="a@example.kz")
    other = verified(email="b@example.kz")
    services.withdrawal_request_assign(withdrawal=mine, assignee=staff, actor=staff)
    page = client.get(CHANGELIST + f"?assignee__id__exact={staff.pk}").content.decode()
    assert mine.reference in page and other.reference not in page


def test_every_view_of_a_request_is_audited_and_shows_its_emails(client, staff):
    withdrawal = verified()
    response = client.get(change_url(withdrawal), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Written application to the privacy mailbox" in page and "Withdrawal request received" in page
    assert "Confirm a withdrawal request" in page
    assert "Start review" in page and "Assign to me" in page
    client.get(change_url(withdrawal))
    views = AuditEvent.objects.filter(action="withdrawal.view", target_id=str(withdrawal.pk), actor=staff)
    assert views.count() == 2


def test_change_page_says_whether_the_requesters_address_was_confirmed(client, staff):
    unconfirmed = submit(requester=UserFactory(unverified=True, email="claimed@example.kz"))
    confirmed = submit(requester=UserFactory(email="member@example.kz"))
    visitor = verified(email="visitor@example.kz")
    pages = {
        withdrawal.pk: client.get(change_url(withdrawal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        for withdrawal in (unconfirmed, confirmed, visitor)
    }
    warning = "The requester has not confirmed this request yet."
    # Filed from an unconfirmed account: it waits for the link like a visitor's, and staff see why.
    assert unconfirmed.status == "unverified" and warning in pages[unconfirmed.pk]
    assert "Account address confirmed: <strong>no</strong>" in pages[unconfirmed.pk]
    assert "Account address confirmed: yes" in pages[confirmed.pk] and warning not in pages[confirmed.pk]
    assert "Email confirmed: yes" in pages[visitor.pk] and warning not in pages[visitor.pk]


def test_workflow_buttons_run_the_services(client, staff):
    ThirdPartyFactory()
    withdrawal = verified()
    colleague = StaffFactory(email="colleague@alilo.kz")
    response = client.post(step_url(withdrawal, "assign"), {"assignee": colleague.pk}, follow=True)
    assert "Assigned to colleague@alilo.kz." in messages_of(response)
    client.post(step_url(withdrawal, "assign_me"))
    client.post(step_url(withdrawal, "review"))
    client.post(step_url(withdrawal, "note"), {"text": "Called the shop."})
    client.post(step_url(withdrawal, "ask"), {"message": "Which shop?"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "awaiting_information" and withdrawal.assignee == staff
    services.withdrawal_request_information_provide(withdrawal=withdrawal, answer="Mega Almaty")
    unconfirmed = client.post(step_url(withdrawal, "grant"), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Tick the box to confirm that the withdrawal should be applied." in messages_of(unconfirmed)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review"
    response = client.post(step_url(withdrawal, "grant"), {"confirm": "on"}, follow=True)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "granted"
    assert any("granted" in message for message in messages_of(response))
    actions = set(AuditEvent.objects.filter(target_id=str(withdrawal.pk)).values_list("action", flat=True))
    assert {
        "withdrawal.assign",
        "withdrawal.review_start",
        "withdrawal.note",
        "withdrawal.information_request",
        "withdrawal.grant",
    } <= actions


def test_refusal_without_reason_is_refused_with_a_message(client, staff):
    withdrawal = in_review(staff=staff)
    response = client.post(
        step_url(withdrawal, "refuse"), {"reason": "  "}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "A refusal needs a written reason." in messages_of(response)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review"
    client.post(step_url(withdrawal, "refuse"), {"reason": "Outstanding order."})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "refused" and withdrawal.decision_reason == "Outstanding order."


def test_illegal_step_is_refused_with_a_clear_message(client, staff):
    withdrawal = verified()
    response = client.post(
        step_url(withdrawal, "grant"), {"confirm": "on"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Only a request in review can be granted." in messages_of(response)
    response = client.post(
        step_url(withdrawal, "ask"), {"message": "?"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Information can be asked for only while the request is in review." in messages_of(response)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted"
    assert client.get(step_url(withdrawal, "grant")).status_code == 405
    assert client.post(step_url(withdrawal, "explode")).status_code == 404


def test_deciding_needs_the_decide_permission(client):
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_withdrawalrequest", "change_withdrawalrequest"],
            content_type__app_label="withdrawals",
        )
    )
    client.force_login(clerk)
    withdrawal = in_review(staff=clerk)
    page = client.get(change_url(withdrawal)).content.decode()
    assert step_url(withdrawal, "grant") not in page
    assert client.post(step_url(withdrawal, "grant")).status_code == 403
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review"
    decide = Permission.objects.get(codename="decide_withdrawalrequest")
    clerk.user_permissions.add(decide)
    clerk = type(clerk).objects.get(pk=clerk.pk)
    client.force_login(clerk)
    client.post(step_url(withdrawal, "grant"), {"confirm": "on"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "granted"


def test_view_only_staff_cannot_run_steps(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_withdrawalrequest"))
    client.force_login(viewer)
    withdrawal = verified()
    assert client.get(change_url(withdrawal)).status_code == 200
    assert client.post(step_url(withdrawal, "review")).status_code == 403


def test_change_form_saves_nothing_and_add_is_the_register_form_and_there_is_no_delete(client, staff):
    withdrawal = verified()
    response = client.post(change_url(withdrawal), {"status": "granted", "email": "evil@example.kz"})
    assert response.status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted" and withdrawal.email != "evil@example.kz"
    add = client.get(CHANGELIST + "add/", HTTP_ACCEPT_LANGUAGE="en")
    assert add.status_code == 200 and 'name="received_at"' in add.content.decode()
    assert 'name="status"' not in add.content.decode()
    assert client.get(change_url(withdrawal).replace("change/", "delete/")).status_code == 403


def test_bulk_start_review_reports_refusals(client, staff):
    ready = verified(email="a@example.kz")
    unconfirmed = submit(email="b@example.kz")
    response = client.post(
        CHANGELIST,
        {"action": "start_review_selected", "_selected_action": [ready.pk, unconfirmed.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Review started for 1 request." in messages_of(response)
    ready.refresh_from_db()
    unconfirmed.refresh_from_db()
    assert ready.status == "in_review" and unconfirmed.status == "unverified"


def test_bulk_assign_asks_for_the_assignee_then_assigns(client, staff):
    first = verified(email="a@example.kz")
    second = verified(email="b@example.kz")
    colleague = StaffFactory(email="colleague@alilo.kz")
    ids = [first.pk, second.pk]
    page = client.post(CHANGELIST, {"action": "assign_selected", "_selected_action": ids})
    assert page.status_code == 200 and first.reference in page.content.decode()
    response = client.post(
        CHANGELIST,
        {"action": "assign_selected", "_selected_action": ids, "apply": "1", "assignee": colleague.pk},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "2 requests assigned to colleague@alilo.kz." in messages_of(response)
    assert set(WithdrawalRequest.objects.values_list("assignee", flat=True)) == {colleague.pk}


def test_csv_export_lists_the_selection_safely_and_is_audited(client, staff):
    withdrawal = verified(email="a@example.kz", full_name='=HYPERLINK("http://evil")')
    response = client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [withdrawal.pk]})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[0][:6] == ["reference", "type", "status", "scope", "purposes", "full name"]
    assert len(rows[0]) == 18
    assert rows[1][:2] == [withdrawal.reference, "Withdrawal of consent"]
    assert rows[1][5].startswith("'=")  # a spreadsheet will not run it
    export = AuditEvent.objects.get(action="export.csv", actor=staff)
    assert export.target_type == "withdrawals.withdrawalrequest"
    assert export.details["rows"] == 1 and export.details["ids"] == [withdrawal.pk]


def test_third_party_register_is_managed_in_the_admin(client, staff):
    response = client.post(
        "/admin/withdrawals/thirdparty/add/",
        {"name": "Courier LLP", "contact_email": "dpo@courier.kz", "language": "ru", "active": "on"},
    )
    assert response.status_code == 302
    from apps.withdrawals.models import ThirdParty

    assert ThirdParty.objects.get().contact_email == "dpo@courier.kz"
