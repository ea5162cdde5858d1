"""Every staff view of a user's privacy data and every export is an audit event; the audit list filters."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from apps.acceptances import services as acceptance_services
from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from tests.acceptances.conftest import publish
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_opening_a_users_account_in_the_admin_is_audited(client, officer):
    customer = UserFactory(email="customer@example.kz")
    client.force_login(officer)
    url = reverse("admin:accounts_user_change", args=[customer.pk])
    assert client.get(url, REMOTE_ADDR="192.0.2.9").status_code == 200
    event = AuditEvent.objects.get(action="account.view")
    assert (event.actor, event.target_type, event.target_id, event.ip) == (
        officer,
        "accounts.user",
        str(customer.pk),
        "192.0.2.9",
    )
    client.get(reverse("admin:accounts_user_changelist"))
    assert AuditEvent.objects.filter(action="account.view").count() == 1


def test_a_user_without_view_permission_leaves_no_view_event(client, support):
    customer = UserFactory()
    client.force_login(support)
    assert client.get(reverse("admin:accounts_user_change", args=[customer.pk])).status_code == 403
    assert not AuditEvent.objects.filter(action="account.view").exists()


def test_opening_an_acceptance_is_audited(client, officer):
    version = publish()
    customer = UserFactory()
    acceptance, _ = acceptance_services.acceptance_record_explicit(
        user=customer, version=version, language="kk", ip="198.51.100.1", user_agent="UA"
    )
    client.force_login(officer)
    assert client.get(reverse("admin:acceptances_acceptance_change", args=[acceptance.pk])).status_code == 200
    event = AuditEvent.objects.get(action="acceptance.view")
    assert event.actor == officer and event.target_id == str(acceptance.pk)
    assert event.details == {"user_id": customer.pk}


def test_acceptance_export_is_audited_and_keeps_its_columns(client, officer):
    version = publish()
    customer = UserFactory(email="c@example.kz")
    acceptance_services.acceptance_record_explicit(
        user=customer, version=version, language="kk", ip="198.51.100.1", user_agent="=cmd"
    )
    client.force_login(officer)
    response = client.post(
        reverse("admin:acceptances_acceptance_changelist"),
        {"action": "export_csv", "select_across": "1", "index": "0", "_selected_action": ["1"]},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == [
        "id",
        "user_id",
        "user_email",
        "version",
        "method",
        "channel",
        "accepted_at",
        "recorded_at",
        "ip",
        "user_agent",
        "language",
        "text_sha256",
        "used_at",
        "use_source",
    ]
    assert rows[1][2:5] == ["c@example.kz", str(version.number), "explicit"]
    assert rows[1][9] == "'=cmd"
    export = AuditEvent.objects.get(action="export.csv")
    assert export.actor == officer and export.target_type == "acceptances.acceptance"


def test_audit_list_filters_by_actor_action_target_and_date(client, officer):
    colleague = UserFactory(is_staff=True, email="colleague@alilo.kz")
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        audit_event_record(
            actor=colleague,
            action="withdrawal.view",
            target_type="withdrawals.withdrawalrequest",
            target_id="7",
            target_label="OLD-VIEW",
        )
    audit_event_record(
        actor=colleague,
        action="withdrawal.view",
        target_type="withdrawals.withdrawalrequest",
        target_id="7",
        target_label="NEW-VIEW",
    )
    audit_event_record(
        actor=officer,
        action="withdrawal.grant",
        target_type="withdrawals.withdrawalrequest",
        target_id="8",
        target_label="GRANT-8",
    )
    audit_event_record(
        action="retention.erase", target_type="accounts.user", target_id="7", target_label="ERASE-7"
    )
    client.force_login(officer)
    base = reverse("admin:audit_auditevent_changelist")

    def labels(query):
        page = client.get(base + query, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        return {
            label
            for label in ("OLD-VIEW", "NEW-VIEW", "GRANT-8", "ERASE-7")
            if label in page.content.decode()
        }

    assert labels("") == {"OLD-VIEW", "NEW-VIEW", "GRANT-8", "ERASE-7"}
    assert labels(f"?actor={colleague.pk}") == {"OLD-VIEW", "NEW-VIEW"}
    assert labels("?actor=system") == {"ERASE-7"}
    assert labels("?action=withdrawal.grant") == {"GRANT-8"}
    assert labels("?target_type=withdrawals.withdrawalrequest&target_id=7") == {"OLD-VIEW", "NEW-VIEW"}
    assert labels("?target_type=accounts.user&target_id=7") == {"ERASE-7"}
    listing = client.get(base, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="?target_type=accounts.user&amp;target_id=7"' in listing
    since = (timezone.now() - timedelta(days=7)).replace(microsecond=0).isoformat()
    assert labels("?" + urlencode({"created_at__gte": since})) == {"NEW-VIEW", "GRANT-8", "ERASE-7"}
    assert labels("?" + urlencode({"created_at__lt": since})) == {"OLD-VIEW"}
    today = timezone.localdate().isoformat()
    assert labels(f"?created_at__gte={today}") >= {
        "NEW-VIEW",
        "GRANT-8",
        "ERASE-7",
    }  # the admin's date filter


def test_audit_admin_offers_no_edits(client, officer):
    event = audit_event_record(action="x.y", target_label="one")
    client.force_login(officer)
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode()
    assert 'name="_save"' not in page and "deletelink" not in page
    listing = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert 'value="delete_selected"' not in listing and 'value="export_csv"' in listing
