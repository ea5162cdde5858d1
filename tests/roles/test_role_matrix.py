"""Each role opens exactly its admin pages; decisions and publishing need their permission; evidence,
audit and outbox rows stay read-only for everyone."""

from importlib import import_module

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from apps.acceptances import services as acceptance_services
from apps.acceptances.models import Acceptance
from apps.accounts.roles import POLICY_EDITOR, PRIVACY_OFFICER, ROLE_NAMES, SUPPORT
from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_email_queue
from apps.policies.models import PolicyVersion
from apps.withdrawals import services as withdrawal_services
from apps.withdrawals.models import WithdrawalRequest
from tests.acceptances.conftest import publish
from tests.accounts.factories import UserFactory
from tests.policies.factories import PolicyVersionFactory
from tests.roles.conftest import member, roles_ensure
from tests.withdrawals.factories import verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    """One row of everything the admin shows."""
    version = publish(number=1)
    draft = PolicyVersionFactory(number=2)
    customer = UserFactory(email="customer@example.kz", phone="+77015550000")
    acceptance, _created = acceptance_services.acceptance_record_explicit(
        user=customer, version=version, language="kk", ip="198.51.100.1", user_agent="UA"
    )
    withdrawal = verified(requester=customer)
    email = OutboxEmail.objects.filter(to=customer.email).first()
    event = AuditEvent.objects.filter(action="withdrawal.verify").first()
    return {
        "version": version,
        "draft": draft,
        "customer": customer,
        "acceptance": acceptance,
        "withdrawal": withdrawal,
        "email": email,
        "event": event,
    }


def pages(world) -> dict[str, str]:
    w = world
    return {
        "withdrawal list": reverse("admin:withdrawals_withdrawalrequest_changelist"),
        "withdrawal detail": reverse("admin:withdrawals_withdrawalrequest_change", args=[w["withdrawal"].pk]),
        "status list": reverse("admin:withdrawals_withdrawalrequeststatus_changelist"),
        "status detail": reverse(
            "admin:withdrawals_withdrawalrequeststatus_change", args=[w["withdrawal"].pk]
        ),
        "third party add": reverse("admin:withdrawals_thirdparty_add"),
        "third party list": reverse("admin:withdrawals_thirdparty_changelist"),
        "user list": reverse("admin:accounts_user_changelist"),
        "user detail": reverse("admin:accounts_user_change", args=[w["customer"].pk]),
        "acceptance list": reverse("admin:acceptances_acceptance_changelist"),
        "acceptance detail": reverse("admin:acceptances_acceptance_change", args=[w["acceptance"].pk]),
        "acceptance summary": reverse("admin:acceptances_acceptance_summary"),
        "outbox list": reverse("admin:notifications_outboxemail_changelist"),
        "outbox detail": reverse("admin:notifications_outboxemail_change", args=[w["email"].pk]),
        "audit list": reverse("admin:audit_auditevent_changelist"),
        "audit detail": reverse("admin:audit_auditevent_change", args=[w["event"].pk]),
        "policy list": reverse("admin:policies_policyversion_changelist"),
        "policy add": reverse("admin:policies_policyversion_add"),
        "policy draft": reverse("admin:policies_policyversion_change", args=[w["draft"].pk]),
        "policy publish": reverse("admin:policies_policyversion_publish", args=[w["draft"].pk]),
        "group list": reverse("admin:auth_group_changelist"),
        "service tokens": reverse("admin:acceptances_servicetoken_changelist"),
        "breach list": reverse("admin:breaches_breach_changelist"),
        "breach add": reverse("admin:breaches_breach_add"),
        "consent record list": reverse("admin:records_consentrecord_changelist"),
        "connected service list": reverse("admin:connectors_connectedservice_changelist"),
        "connected service add": reverse("admin:connectors_connectedservice_add"),
        "service call list": reverse("admin:connectors_servicecall_changelist"),
    }


OFFICER_PAGES = {
    "withdrawal list",
    "withdrawal detail",
    "status list",
    "status detail",
    "third party add",
    "third party list",
    "user list",
    "user detail",
    "acceptance list",
    "acceptance detail",
    "acceptance summary",
    "outbox list",
    "outbox detail",
    "audit list",
    "audit detail",
    "breach list",
    "breach add",
    "consent record list",
    "connected service list",
    "connected service add",
    "service call list",
}
EDITOR_PAGES = {"policy list", "policy add", "policy draft", "policy publish"}
SUPPORT_PAGES = {"status list", "status detail"}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(PRIVACY_OFFICER, OFFICER_PAGES), (POLICY_EDITOR, EDITOR_PAGES), (SUPPORT, SUPPORT_PAGES)],
)
def test_each_role_opens_exactly_its_admin_pages(client, world, role, allowed):
    client.force_login(member(role))
    got = {name: client.get(url).status_code for name, url in pages(world).items()}
    assert {name for name, status in got.items() if status == 200} == allowed
    assert {status for name, status in got.items() if name not in allowed} == {403}


def test_superuser_opens_every_page(client, world, superuser):
    client.force_login(superuser)
    assert {name: client.get(url).status_code for name, url in pages(world).items()} == {
        name: 200 for name in pages(world)
    }


def test_roles_exist_with_least_privilege():
    roles_ensure()
    granted = {
        group.name: set(group.permissions.values_list("content_type__app_label", "codename"))
        for group in Group.objects.filter(name__in=ROLE_NAMES)
    }
    assert set(granted) == set(ROLE_NAMES)
    assert granted[SUPPORT] == {("withdrawals", "view_withdrawalrequeststatus")}
    officer = granted[PRIVACY_OFFICER]
    assert ("withdrawals", "decide_withdrawalrequest") in officer
    assert ("notifications", "resend_outboxemail") in officer
    assert ("connectors", "mark_done_servicecall") in officer
    # The one thing an officer removes is a wrong day of the working calendar (audited like every change).
    assert {codename for _app, codename in officer if codename.startswith("delete_")} == {
        "delete_calendarexception"
    }
    assert not {app for app, _codename in officer} & {"policies", "auth", "otp_totp"}
    editor = granted[POLICY_EDITOR]
    assert ("policies", "publish_policyversion") in editor
    assert {app for app, _codename in editor} == {"policies"}
    assert ("policies", "delete_policyversion") not in editor


def test_support_sees_reference_name_status_and_public_timeline_only_and_the_view_is_audited(client, support):
    withdrawal = verified(
        email="private@example.kz", full_name="Dana Seitkali", reason="My secret reason", phone="+77017778899"
    )
    staff = member(PRIVACY_OFFICER)
    withdrawal_services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    withdrawal_services.withdrawal_request_note_add(
        withdrawal=withdrawal, actor=staff, text="Internal remark"
    )
    withdrawal_services.withdrawal_request_information_ask(
        withdrawal=withdrawal, actor=staff, message="Please send the account number."
    )
    withdrawal_services.withdrawal_request_information_provide(withdrawal=withdrawal, answer="Account 987")
    client.force_login(support)

    listing = client.get(
        reverse("admin:withdrawals_withdrawalrequeststatus_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    detail = client.get(
        reverse("admin:withdrawals_withdrawalrequeststatus_change", args=[withdrawal.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()

    for page in (listing, detail):
        assert withdrawal.reference in page and "Dana Seitkali" in page
        for secret in ("private@example.kz", "My secret reason", "7017778899", "203.0.113.5", "pytest"):
            assert secret not in page
    assert "Please send the account number." in detail and "Information provided" in detail
    assert "Internal remark" not in detail and "Account 987" not in detail
    assert 'name="_save"' not in detail and "/workflow/" not in detail
    view = AuditEvent.objects.get(action="withdrawal.view", actor=support)
    assert view.target_id == str(withdrawal.pk) and view.details["view"] == "status"
    by_email = client.get(
        reverse("admin:withdrawals_withdrawalrequeststatus_changelist") + "?q=private%40example.kz"
    )
    assert withdrawal.reference not in by_email.content.decode()


def test_support_cannot_post_workflow_steps(client, support):
    withdrawal = verified()
    client.force_login(support)
    for step in ("review", "grant", "refuse", "note"):
        url = reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, step])
        assert client.post(url, {"confirm": "on", "reason": "x", "text": "x"}).status_code == 403
    assert WithdrawalRequest.objects.get().status == "submitted"


def test_deciding_needs_the_decide_permission(client, officer):
    withdrawal = verified()
    withdrawal_services.withdrawal_request_review_start(withdrawal=withdrawal, actor=officer)
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="withdrawals",
            codename__in=["view_withdrawalrequest", "change_withdrawalrequest"],
        )
    )
    grant = reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, "grant"])
    refuse = reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, "refuse"])
    change = reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])

    client.force_login(clerk)
    assert f"{withdrawal.pk}/workflow/grant/" not in client.get(change).content.decode()
    assert client.post(grant, {"confirm": "on"}).status_code == 403
    assert client.post(refuse, {"reason": "No."}).status_code == 403
    assert WithdrawalRequest.objects.get().status == "in_review"

    client.force_login(officer)
    assert f"{withdrawal.pk}/workflow/grant/" in client.get(change).content.decode()
    assert client.post(grant, {"confirm": "on"}).status_code == 302
    assert WithdrawalRequest.objects.get().status == "granted"


def test_publishing_needs_the_publish_permission(client, editor):
    draft = PolicyVersionFactory(number=1)
    writer = UserFactory(is_staff=True)
    writer.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="policies").exclude(
            codename="publish_policyversion"
        )
    )
    publish_url = reverse("admin:policies_policyversion_publish", args=[draft.pk])
    change = reverse("admin:policies_policyversion_change", args=[draft.pk])

    client.force_login(writer)
    assert client.get(change).status_code == 200
    assert publish_url not in client.get(change).content.decode()
    assert client.get(publish_url).status_code == 403
    assert client.post(publish_url, {"confirm": "1"}).status_code == 403
    assert PolicyVersion.objects.get().status == "draft"

    client.force_login(editor)
    assert publish_url in client.get(change).content.decode()
    assert client.post(publish_url, {"confirm": "1"}).status_code == 302
    assert PolicyVersion.objects.get().status == "published"


def test_resending_needs_the_resend_permission(client):
    email = outbox_email_queue(
        to="a@example.kz", template="password_reset", context={}, language="kk", dedup_key="k"
    )
    OutboxEmail.objects.filter(pk=email.pk).update(status="failed")
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_outboxemail"))
    changelist = reverse("admin:notifications_outboxemail_changelist")
    client.force_login(reader)
    assert 'value="resend"' not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "resend", "_selected_action": [email.pk]})
    assert OutboxEmail.objects.get().status == "failed"
    client.force_login(member(PRIVACY_OFFICER))
    assert 'value="resend"' in client.get(changelist).content.decode()
    client.post(changelist, {"action": "resend", "_selected_action": [email.pk]})
    assert OutboxEmail.objects.get().status == "pending"


@pytest.mark.parametrize("who", [PRIVACY_OFFICER, POLICY_EDITOR, SUPPORT, "superuser"])
def test_acceptance_audit_and_outbox_records_stay_read_only(client, world, who, superuser):
    client.force_login(superuser if who == "superuser" else member(who))
    audit_event_record(action="test.event", target_label="kept")
    rows = {
        "acceptances_acceptance": (Acceptance, world["acceptance"]),
        "audit_auditevent": (AuditEvent, AuditEvent.objects.get(action="test.event")),
        "notifications_outboxemail": (OutboxEmail, world["email"]),
    }
    for name, (model, obj) in rows.items():
        before = model.objects.values().get(pk=obj.pk)
        count = model.objects.count()
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
        assert client.post(reverse(f"admin:{name}_add"), {}).status_code == 403
        assert client.post(reverse(f"admin:{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
        change = client.post(reverse(f"admin:{name}_change", args=[obj.pk]), {"method": "implicit"})
        assert change.status_code == 403
        client.post(
            reverse(f"admin:{name}_changelist"),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
        assert model.objects.values().get(pk=obj.pk) == before
        assert model.objects.count() == count


def test_the_migration_creates_the_permissions_and_groups_on_a_database_without_them():
    custom = ["publish_policyversion", "resend_outboxemail", "decide_withdrawalrequest"]
    Group.objects.filter(name__in=ROLE_NAMES).delete()
    Permission.objects.filter(codename__in=custom).delete()
    Permission.objects.filter(content_type__model="withdrawalrequeststatus").delete()
    state = MigrationLoader(connection).project_state(("accounts", "0002_staff_roles")).apps

    import_module("apps.accounts.migrations.0002_staff_roles").forward(state, None)

    assert set(Permission.objects.filter(codename__in=custom).values_list("codename", flat=True)) == set(
        custom
    )
    support = Group.objects.get(name=SUPPORT)
    assert list(support.permissions.values_list("codename", flat=True)) == ["view_withdrawalrequeststatus"]
    assert (
        Group.objects.get(name=PRIVACY_OFFICER)
        .permissions.filter(codename="decide_withdrawalrequest")
        .exists()
    )
    assert Group.objects.get(name=POLICY_EDITOR).permissions.filter(codename="publish_policyversion").exists()
