import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from tests.accounts.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_record_keeps_actor_action_target_details_and_ip():
    user = UserFactory()
    event = audit_event_record(
        actor=user, action="account.update", target=user, details={"x": 1}, ip="10.0.0.1"
    )
    event.refresh_from_db()
    assert (event.actor, event.action, event.target_type, event.target_id) == (
        user,
        "account.update",
        "accounts.user",
        str(user.pk),
    )
    assert event.details == {"x": 1} and event.ip == "10.0.0.1"


def test_system_events_have_no_actor():
    event = audit_event_record(action="retention.erase", target_type="accounts.user", target_id="7")
    assert event.actor is None


def test_model_refuses_update_and_delete():
    event = audit_event_record(action="x")
    event.action = "y"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_database_refuses_update_and_delete_even_by_queryset():
    audit_event_record(action="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(action="tampered")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.get().action == "x"


def test_admin_cannot_add_change_or_delete_even_as_superuser(client):
    staff = StaffFactory()
    event = audit_event_record(action="x", actor=staff)
    client.force_login(staff)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    detail = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert (
        client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_csv_export_streams_selected_events_neutralises_formulas_and_is_audited(client):
    staff = StaffFactory(email="boss@example.kz")
    first = audit_event_record(action="withdrawal.view", actor=staff, target_label="=HYPERLINK(1)")
    client.force_login(staff)
    response = client.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "export_csv", "_selected_action": [first.pk]},
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert len(lines) == 2
    assert "withdrawal.view" in lines[1] and "boss@example.kz" in lines[1]
    assert "'=HYPERLINK(1)" in lines[1]
    export = AuditEvent.objects.get(action="export.csv")
    assert export.actor == staff and export.target_type == "audit.auditevent"


def test_changelist_filters_by_actor_and_system(client):
    staff = StaffFactory()
    audit_event_record(action="by.staff", actor=staff)
    audit_event_record(action="by.system")
    client.force_login(staff)
    url = reverse("admin:audit_auditevent_changelist")
    by_staff = client.get(url, {"actor": str(staff.pk)}).context["cl"].result_list
    assert [event.action for event in by_staff] == ["by.staff"]
    system = client.get(url, {"actor": "system"}).context["cl"].result_list
    assert [event.action for event in system] == ["by.system"]


# --- The personal part and its one eraser -----------------------------------------------------------


def test_erasure_clears_the_personal_part_of_events_by_and_about_the_person_and_keeps_the_rest():
    from apps.audit.services import audit_personal_data_erase

    person, other = UserFactory(), UserFactory()
    by_person = audit_event_record(actor=person, action="account.update", target=person, ip="198.51.100.9")
    about_row = audit_event_record(
        action="withdrawal.submit",
        target_type="withdrawals.withdrawalrequest",
        target_id="41",
        target_label="Unconfirmed request from gone@example.kz",
        ip="198.51.100.9",
        details={"scope": "all"},
    )
    searched = audit_event_record(
        action="admin.list", actor=other, target_type="accounts.user", personal={"search": "GONE@example.kz"}
    )
    kept = audit_event_record(actor=other, action="account.update", target=other, ip="198.51.100.10")

    changed = audit_personal_data_erase(
        actor_ids=[person.pk], targets={"withdrawals.withdrawalrequest": [41]}, mentions=["gone@example.kz"]
    )

    assert changed == 3
    for event in (by_person, about_row, searched):
        event.refresh_from_db()
        assert (event.ip, event.target_label, event.personal) == (None, "", {})
        assert event.personal_erased_at is not None
    about_row.refresh_from_db()
    assert (about_row.action, about_row.target_id, about_row.details) == (
        "withdrawal.submit",
        "41",
        {"scope": "all"},
    )
    kept.refresh_from_db()
    assert (kept.ip, kept.target_label) == ("198.51.100.10", other.email)
    assert audit_personal_data_erase(actor_ids=[person.pk], mentions=["gone@example.kz"]) == 0


def test_staff_searches_keep_what_was_typed_in_the_personal_part(client):
    staff = StaffFactory()
    client.force_login(staff)
    client.get(reverse("admin:accounts_user_changelist"), {"q": "someone@example.kz"})
    event = AuditEvent.objects.get(action="admin.list", actor=staff)
    assert event.personal["search"] == "someone@example.kz"
    assert "search" not in event.details and "someone" not in str(event.details)


def test_database_allows_only_clearing_the_personal_part():
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    event = audit_event_record(action="x", target_label="gone@example.kz", ip="10.0.0.1", details={"a": 1})
    stamp = {"ip": None, "target_label": "", "personal": {}, "personal_erased_at": timezone.now()}
    attempts = [
        {**stamp, "action": "tampered"},
        {**stamp, "details": {}},
        {**stamp, "target_id": "9"},
        {"ip": None, "target_label": "", "personal": {}},  # not stamped
        {"ip": "10.0.0.2"},
        {"target_label": "someone else"},
    ]
    for change in attempts:
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(**change)
    assert AuditEvent.objects.filter(pk=event.pk).update(**stamp) == 1
    event.refresh_from_db()
    assert (event.action, event.details, event.ip, event.target_label) == ("x", {"a": 1}, None, "")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
