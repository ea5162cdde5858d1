import csv
import io

import pytest
from django.urls import reverse

from apps.acceptances import services
from apps.acceptances.models import Acceptance, ServiceToken
from apps.audit.models import AuditEvent
from tests.accounts.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(email="staff@example.kz"))
    return client


def test_acceptances_are_read_only_in_admin(staff_client, user, version):
    acceptance, _ = services.acceptance_record_explicit(
        user=user, version=version, language="kk", ip=None, user_agent=""
    )
    changelist = staff_client.get(reverse("admin:acceptances_acceptance_changelist"))
    assert changelist.status_code == 200 and user.email in changelist.content.decode()
    change_url = reverse("admin:acceptances_acceptance_change", args=[acceptance.pk])
    page = staff_client.get(change_url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    staff_client.post(change_url, {"method": "implicit"})
    assert Acceptance.objects.get().method == "explicit"
    assert staff_client.get(reverse("admin:acceptances_acceptance_add")).status_code == 403
    delete_url = reverse("admin:acceptances_acceptance_delete", args=[acceptance.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Acceptance.objects.count() == 1


def test_csv_export_streams_the_selected_rows(staff_client, user, version):
    other = UserFactory(email="b@example.kz")
    for who in (user, other):
        services.acceptance_record_explicit(
            user=who, version=version, language="kk", ip="10.0.0.1", user_agent="UA"
        )
    response = staff_client.post(
        reverse("admin:acceptances_acceptance_changelist"),
        {"action": "export_csv", "select_across": "1", "index": "0", "_selected_action": ["1"]},
    )
    assert response.status_code == 200 and response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "user_id", "user_email", "version"]
    assert {row[2] for row in rows[1:]} == {user.email, other.email}
    assert all(row[4] == "explicit" and row[11] for row in rows[1:])


def test_summary_counts_per_version_with_pending(staff_client, version):
    accepted = [UserFactory() for _ in range(3)]
    UserFactory()  # pending
    UserFactory(consent_withdrawn_at="2026-01-01T00:00:00Z")  # not pending: withdrew
    services.acceptance_record_explicit(
        user=accepted[0], version=version, language="kk", ip=None, user_agent=""
    )
    services.acceptance_record(
        user=accepted[1], version=version, method="signup", channel="web", language="kk"
    )
    token, _ = services.service_token_create(name="app")
    services.acceptance_record_api(
        user=accepted[2],
        version=version,
        channel="app",
        language="kk",
        ip=None,
        user_agent="",
        text_sha256="",
        token=token,
    )
    response = staff_client.get(reverse("admin:acceptances_acceptance_summary"))
    assert response.status_code == 200
    row = response.context["rows"][0]
    assert (row["explicit"], row["signup"], row["api"], row["implicit"], row["total"]) == (1, 1, 1, 0, 3)
    assert row["pending"] == 2  # the pending user and the staff member
    assert f'data-version="{version.number}"' in response.content.decode()


def test_summary_needs_staff(client, user, db):
    client.force_login(user)
    assert client.get(reverse("admin:acceptances_acceptance_summary")).status_code == 302


def test_staff_create_token_in_admin_sees_it_once_and_can_revoke(staff_client):
    response = staff_client.post(
        reverse("admin:acceptances_servicetoken_add"), {"name": "loyalty"}, follow=True
    )
    assert response.status_code == 200
    token = ServiceToken.objects.get(name="loyalty")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(word for m in shown for word in m.split() if word.startswith("alp_"))
    assert ServiceToken.hash(raw) == token.token_sha256
    assert (
        raw
        not in staff_client.get(
            reverse("admin:acceptances_servicetoken_change", args=[token.pk])
        ).content.decode()
    )
    staff_client.post(
        reverse("admin:acceptances_servicetoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="service_token.revoke").exists()
