import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

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
