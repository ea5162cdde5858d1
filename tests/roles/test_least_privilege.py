"""Least privilege in the admin: each list is filtered and searched only by the fields it shows to the role
asking, so a guessed lookup in the query string tells nothing (no oracle); Support sees a request's contact
details only where a Privacy officer showed them; every list, page and refused lookup is audited."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import urlencode

from apps.acceptances import services as acceptance_services
from apps.acceptances.models import Acceptance, UseReport
from apps.accounts.roles import POLICY_EDITOR, PRIVACY_OFFICER, SUPPORT
from apps.audit.models import AuditEvent
from apps.breaches import services as breach_services
from apps.breaches.models import Breach, BreachNotice
from apps.notifications.models import OutboxEmail
from apps.policies.models import PolicyVersion
from apps.records.models import ConsentRecord
from apps.withdrawals.models import SupportAccess, ThirdParty, TimelineEntry, WithdrawalRequest
from apps.withdrawals.tokens import status_token_make
from tests.acceptances.conftest import publish
from tests.accounts.factories import StaffFactory, UserFactory
from tests.roles.conftest import member
from tests.withdrawals.factories import ThirdPartyFactory, verified

pytestmark = pytest.mark.django_db

SECRET_AGENT = "HiddenAgent/1.0"

# What each list shows (columns, filters, date hierarchy): the only fields it may be filtered by. Every other
# concrete field of the model is hidden and is probed below.
SHOWN = {
    "withdrawals.withdrawalrequest": {
        "reference",
        "request_type",
        "full_name",
        "email",
        "scope",
        "status",
        "assignee",
        "due_at",
        "decided_at",
    },
    "withdrawals.withdrawalrequeststatus": {"reference", "request_type", "full_name", "status", "due_at"},
    "withdrawals.thirdparty": {"name", "contact_email", "language", "active", "created_at"},
    "accounts.user": {
        "email",
        "full_name",
        "phone",
        "language",
        "agreement_status",
        "last_used_at",
        "is_staff",
        "is_superuser",
        "is_active",
    },
    "acceptances.acceptance": {"accepted_at", "version", "method", "channel", "ip", "used_at", "language"},
    "acceptances.usereport": {"used_at", "channel", "token", "received_at"},
    "notifications.outboxemail": {
        "id",
        "template",
        "to",
        "language",
        "status",
        "attempts",
        "tracking_status",
        "created_at",
        "sent_at",
    },
    "audit.auditevent": {"created_at", "actor", "action", "target_type", "target_id", "target_label", "ip"},
    "policies.policyversion": {"number", "status", "published_at", "implicit_acceptance_at"},
    "breaches.breach": {
        "reference",
        "status",
        "discovered_at",
        "notify_due_at",
        "people_affected",
        "authority_notified_at",
    },
    "breaches.breachnotice": {"audience", "created_at", "written", "finished_at"},
    "records.consentrecord": {"accepted_at", "version", "method", "channel"},
}
# The lists that show personal data: each view of them is an audit event.
AUDITED = set(SHOWN) - {"withdrawals.thirdparty", "policies.policyversion"}
OFFICER_LISTS = set(SHOWN) - {"policies.policyversion"}
ROLE_LISTS = {
    PRIVACY_OFFICER: OFFICER_LISTS,
    SUPPORT: {"withdrawals.withdrawalrequeststatus"},
    POLICY_EDITOR: {"policies.policyversion"},
    "superuser": set(SHOWN),
}
ROLES = list(ROLE_LISTS)


@pytest.fixture
def world(db):
    """One row of everything the admin lists, with a value in each field worth guessing."""
    version = publish(number=1)
    customer = UserFactory(email="private@example.kz", phone="+77015550000", full_name="Dana Customer")
    acceptance, _created = acceptance_services.acceptance_record_explicit(
        user=customer, version=version, language="kk", ip="198.51.100.1", user_agent=SECRET_AGENT
    )
    token, _raw = acceptance_services.service_token_create(name="Shop")
    use = UseReport.objects.create(
        user=customer, used_at=timezone.now() - timedelta(hours=1), channel="app", token=token
    )
    withdrawal = verified(
        requester=customer,
        email="private@example.kz",
        full_name="Dana Seitkali",
        phone="+77017778899",
        reason="My secret reason",
        user_agent=SECRET_AGENT,
    )
    email = OutboxEmail.objects.filter(object_id=withdrawal.pk, user=customer).order_by("pk").first()
    event = AuditEvent.objects.filter(action="withdrawal.verify").get()
    officer = member(PRIVACY_OFFICER, email="breach-officer@alilo.kz")
    breach = breach_services.breach_record(
        actor=officer,
        discovered_at=timezone.now() - timedelta(hours=2),
        description="Secret description",
        data_categories="Secret categories",
        people_affected=5,
        measures="Secret measures",
    )
    notice = breach_services.breach_notice_create(
        breach=breach,
        actor=officer,
        audience="ids",
        user_ids=[customer.pk],
        subject_kk="Хабарлама",
        body_kk="Құпия мәтін",
        subject_ru="Уведомление",
        body_ru="Секретный текст",
    )
    return {
        "breaches.breach": breach,
        "breaches.breachnotice": notice,
        "records.consentrecord": ConsentRecord.objects.get(pk=acceptance.pk),
        "withdrawals.withdrawalrequest": withdrawal,
        "withdrawals.withdrawalrequeststatus": withdrawal,
        "withdrawals.thirdparty": ThirdPartyFactory(contact_email="dpo@partner.kz"),
        "accounts.user": customer,
        "acceptances.acceptance": acceptance,
        "acceptances.usereport": use,
        "notifications.outboxemail": email,
        "audit.auditevent": event,
        "policies.policyversion": PolicyVersion.objects.get(pk=version.pk),
    }


MODELS = {
    "withdrawals.withdrawalrequest": WithdrawalRequest,
    "withdrawals.withdrawalrequeststatus": WithdrawalRequest,
    "withdrawals.thirdparty": ThirdParty,
    "accounts.user": UserFactory._meta.model,
    "acceptances.acceptance": Acceptance,
    "acceptances.usereport": UseReport,
    "notifications.outboxemail": OutboxEmail,
    "audit.auditevent": AuditEvent,
    "policies.policyversion": PolicyVersion,
    "breaches.breach": Breach,
    "breaches.breachnotice": BreachNotice,
    "records.consentrecord": ConsentRecord,
}


def changelist(label: str) -> str:
    return reverse("admin:{}_{}_changelist".format(*label.split(".")))


def staff(role: str):
    if role == "superuser":
        return StaffFactory(email="root@alilo.kz", language="en")
    return member(role, email=f"{role.split()[0].lower()}@alilo.kz")


def hidden_fields(label: str) -> list:
    return [field for field in MODELS[label]._meta.concrete_fields if field.name not in SHOWN[label]]


def guesses(field, obj) -> tuple[dict, dict]:
    """A right and a wrong guess at this field's value of `obj`, as query-string lookups."""
    value = getattr(obj, field.attname)
    if value is None:
        return {f"{field.name}__isnull": "True"}, {f"{field.name}__isnull": "False"}
    if field.is_relation:
        return {field.name: str(value)}, {field.name: str(value + 1000)}
    first = str(value)[:1].lower()
    return {f"{field.name}__istartswith": first}, {f"{field.name}__istartswith": "☃"}


def answer(client, url: str, params: dict) -> tuple[int, object]:
    """What a guess learns: the status, and the rows listed (or the body of a page that lists none)."""
    response = client.get(url + "?" + urlencode(params), HTTP_ACCEPT_LANGUAGE="en")
    if response.status_code == 200 and response.context and "cl" in response.context:
        return 200, sorted(obj.pk for obj in response.context["cl"].result_list)
    return response.status_code, page_text(response, params)


def page_text(response, params: dict) -> bytes:
    """The body of a page that lists nothing, less what differs on every page anyway: the CSRF token (masked
    anew for each response) and the page's own address echoed in its forms."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", response.content)
    return body.replace(escape(response.request["PATH_INFO"] + "?" + urlencode(params)).encode(), b"")


def scope(label: str, world) -> dict:
    """Narrow the list to the row being guessed at, as the hostile review did with `?reference=`."""
    if label.startswith("withdrawals.withdrawalrequest"):
        return {"reference": world[label].reference}
    return {}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", list(SHOWN))
def test_a_guess_at_a_hidden_field_gets_the_same_answer_right_or_wrong(client, world, role, label):
    client.force_login(staff(role))
    url = changelist(label)
    obj = world[label]
    for field in hidden_fields(label):
        right, wrong = guesses(field, obj)
        got_right = answer(client, url, {**scope(label, world), **right})
        got_wrong = answer(client, url, {**scope(label, world), **wrong})
        assert got_right == got_wrong, f"{role} learns {label}.{field.name} from {right}"
        assert got_right[0] in (400, 403), f"{role} filters {label} by {field.name}"
    if label in ROLE_LISTS[role]:
        # The fields it shows still filter.
        shown = answer(client, url, scope(label, world))
        assert shown == (200, [obj.pk]) or (shown[0] == 200 and obj.pk in shown[1])


@pytest.mark.parametrize(
    ("role", "label"), [(role, label) for role in ROLES for label in sorted(ROLE_LISTS[role])]
)
def test_a_search_finds_nothing_by_a_hidden_field(client, world, role, label):
    client.force_login(staff(role))
    url = changelist(label)
    obj = world[label]
    for field in hidden_fields(label):
        value = getattr(obj, field.attname)
        if field.get_internal_type() not in ("CharField", "TextField") or not value:
            continue
        got_right = answer(client, url, {"q": str(value)})
        got_wrong = answer(client, url, {"q": "☃☃☃"})
        # Other rows may hold the same words in a column the list shows (the privacy mailbox is one
        # email's reply-to and another's recipient); this row must not be found by its hidden field.
        assert got_right[0] == got_wrong[0], f"{role} finds {label} by its {field.name}"
        assert obj.pk not in got_right[1], f"{role} finds {label} by its {field.name}"


def test_the_hostile_reviews_lookups_tell_support_nothing_and_are_audited(client, world):
    support = staff(SUPPORT)
    withdrawal = world["withdrawals.withdrawalrequest"]
    client.force_login(support)
    url = changelist("withdrawals.withdrawalrequeststatus")
    answers = {
        guess: client.get(url, {"reference": withdrawal.reference, "email__startswith": guess})
        for guess in ("p", "z")
    }
    assert {response.status_code for response in answers.values()} == {400}
    assert page_text(
        answers["p"], {"reference": withdrawal.reference, "email__startswith": "p"}
    ) == page_text(answers["z"], {"reference": withdrawal.reference, "email__startswith": "z"})
    by_account = client.get(url, {"requester": withdrawal.requester_id})
    assert by_account.status_code == 400
    refused = AuditEvent.objects.filter(action="admin.lookup_refused", actor=support)
    assert refused.count() == 3
    assert [event.personal["query"].get("email__startswith") for event in refused.order_by("pk")] == [
        ["p"],
        ["z"],
        None,
    ]
    assert refused.first().target_type == "withdrawals.withdrawalrequeststatus"
    # Today's column filters and search keep working for Support.
    listed = client.get(url, {"q": withdrawal.reference, "status__exact": "submitted"})
    assert [obj.pk for obj in listed.context["cl"].result_list] == [withdrawal.pk]


def test_the_officer_cannot_map_requests_to_accounts_either(client, world):
    client.force_login(staff(PRIVACY_OFFICER))
    withdrawal = world["withdrawals.withdrawalrequest"]
    url = changelist("withdrawals.withdrawalrequest")
    assert client.get(url, {"requester": withdrawal.requester_id}).status_code == 400
    assert client.get(url, {"requester__email": "private@example.kz"}).status_code == 400
    assert client.get(url, {"timeline__text__contains": "secret"}).status_code == 400
    by_email = client.get(url, {"email__startswith": "private"})
    assert [obj.pk for obj in by_email.context["cl"].result_list] == [withdrawal.pk]


@pytest.mark.parametrize("role", ROLES)
def test_every_list_of_personal_data_a_role_opens_is_audited_with_what_it_showed(client, world, role):
    user = staff(role)
    client.force_login(user)
    for label in sorted(ROLE_LISTS[role]):
        response = client.get(changelist(label), {"o": "1"})
        assert response.status_code == 200
        shown = [obj.pk for obj in response.context["cl"].result_list]
        events = AuditEvent.objects.filter(action="admin.list", actor=user, target_type=label)
        if label not in AUDITED:
            assert not events.exists()
            continue
        event = events.get()
        assert event.details["ids"] == shown and event.details["shown"] == len(shown)
        assert world[label].pk in shown
        assert event.personal["filters"] == {"o": ["1"]} and event.details["page"] == 1


def test_a_search_and_its_filters_are_in_the_audit_event(client, world):
    officer = staff(PRIVACY_OFFICER)
    client.force_login(officer)
    client.get(
        changelist("accounts.user"),
        {"q": "private@", "is_active__exact": "1"},
        REMOTE_ADDR="192.0.2.7",
    )
    event = AuditEvent.objects.get(action="admin.list", actor=officer)
    assert event.target_type == "accounts.user" and event.ip == "192.0.2.7"
    assert event.personal["search"] == "private@"
    assert event.personal["filters"] == {"is_active__exact": ["1"]}
    assert event.details["ids"] == [world["accounts.user"].pk]


@pytest.mark.parametrize(
    ("label", "action"),
    [
        ("notifications.outboxemail", "admin.view"),
        ("acceptances.usereport", "admin.view"),
        ("audit.auditevent", "admin.view"),
        ("withdrawals.withdrawalrequest", "withdrawal.view"),
        ("withdrawals.withdrawalrequeststatus", "withdrawal.view"),
        ("accounts.user", "account.view"),
        ("acceptances.acceptance", "acceptance.view"),
    ],
)
def test_opening_a_row_of_personal_data_is_audited(client, world, label, action):
    officer = staff(PRIVACY_OFFICER)
    client.force_login(officer)
    obj = world[label]
    page = reverse("admin:{}_{}_change".format(*label.split(".")), args=[obj.pk])
    assert client.get(page).status_code == 200
    event = AuditEvent.objects.filter(action=action, actor=officer).get()
    assert event.target_id == str(obj.pk)


def test_an_objects_history_is_audited(client, world):
    officer = staff(PRIVACY_OFFICER)
    client.force_login(officer)
    email = world["notifications.outboxemail"]
    assert client.get(reverse("admin:notifications_outboxemail_history", args=[email.pk])).status_code == 200
    assert AuditEvent.objects.get(action="admin.history", actor=officer).target_id == str(email.pk)


def test_a_list_costs_the_same_queries_for_few_rows_or_many(client, world):
    officer = staff(PRIVACY_OFFICER)
    client.force_login(officer)
    url = changelist("withdrawals.withdrawalrequest")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for number in range(8):
        verified(email=f"more{number}@example.kz")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few) <= 15
    assert sum("INSERT" in query["sql"] and "audit_auditevent" in query["sql"] for query in many) == 1


# --- Support sees contact details only where a Privacy officer shows them -----------------------------


def status_page(withdrawal) -> str:
    return reverse("admin:withdrawals_withdrawalrequeststatus_change", args=[withdrawal.pk])


def step(withdrawal, name) -> str:
    return reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, name])


CONTACT = ("private@example.kz", "7017778899", "My secret reason", "203.0.113.5")


def test_a_privacy_officer_shows_one_request_to_one_support_member_and_hides_it_again(client, world):
    withdrawal = world["withdrawals.withdrawalrequest"]
    other = verified(email="other@example.kz", reason="Another secret")
    officer = staff(PRIVACY_OFFICER)
    support = staff(SUPPORT)
    colleague = member(SUPPORT, email="colleague@alilo.kz")

    client.force_login(support)
    page = client.get(status_page(withdrawal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert not any(secret in page for secret in CONTACT)

    client.force_login(officer)
    change = reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])
    form = client.get(change, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert step(withdrawal, "support_grant") in form and "support@alilo.kz" in form
    response = client.post(step(withdrawal, "support_grant"), {"member": support.pk}, REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 302
    access = SupportAccess.objects.get()
    assert (access.request, access.member, access.granted_by) == (withdrawal, support, officer)
    entry = TimelineEntry.objects.get(request=withdrawal, kind="support_access_granted")
    assert not entry.visible_to_requester and entry.actor == officer and entry.text == "support@alilo.kz"
    grant = AuditEvent.objects.get(action="withdrawal.support_access_grant")
    assert grant.actor == officer and grant.details["member"] == support.pk and grant.ip == "192.0.2.1"

    client.force_login(support)
    page = client.get(status_page(withdrawal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert all(secret in page for secret in CONTACT)
    assert "Contact details shown to Support" not in page  # the staff-only entry stays off Support's timeline
    view = AuditEvent.objects.filter(action="withdrawal.view", actor=support).latest("pk")
    assert view.details["view"] == "status+contact"
    assert "Another secret" not in client.get(status_page(other)).content.decode()
    # The list still shows no contact details and is still not filtered by them.
    url = changelist("withdrawals.withdrawalrequeststatus")
    assert client.get(url, {"email__startswith": "p"}).status_code == 400
    assert "private@example.kz" not in client.get(url).content.decode()

    client.force_login(colleague)
    page = client.get(status_page(withdrawal)).content.decode()
    assert not any(secret in page for secret in CONTACT)

    client.force_login(officer)
    client.post(step(withdrawal, "support_revoke"), {"member": support.pk})
    assert not SupportAccess.objects.exists()
    assert TimelineEntry.objects.filter(request=withdrawal, kind="support_access_revoked").get().text == (
        "support@alilo.kz"
    )
    assert AuditEvent.objects.filter(action="withdrawal.support_access_revoke", actor=officer).exists()
    client.force_login(support)
    page = client.get(status_page(withdrawal)).content.decode()
    assert not any(secret in page for secret in CONTACT)


def test_the_requester_never_sees_the_support_access_entries(client, world):
    withdrawal = world["withdrawals.withdrawalrequest"]
    client.force_login(staff(PRIVACY_OFFICER))
    client.post(step(withdrawal, "support_grant"), {"member": staff(SUPPORT).pk})
    status = reverse("withdrawals:status", args=[status_token_make(withdrawal.public_id)])
    client.logout()
    page = client.get(status, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Contact details shown to Support" not in text and "support@alilo.kz" not in text


def test_only_a_privacy_officer_shows_contact_details_and_only_to_support(client, world):
    withdrawal = world["withdrawals.withdrawalrequest"]
    support = staff(SUPPORT)
    client.force_login(support)
    assert client.post(step(withdrawal, "support_grant"), {"member": support.pk}).status_code == 403

    clerk = UserFactory(is_staff=True, email="clerk@alilo.kz")
    clerk.user_permissions.add(
        *Group.objects.get(name=PRIVACY_OFFICER).permissions.exclude(codename="grant_supportaccess")
    )
    client.force_login(clerk)
    assert client.post(step(withdrawal, "support_grant"), {"member": support.pk}).status_code == 403
    assert (
        step(withdrawal, "support_grant")
        not in client.get(
            reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])
        ).content.decode()
    )

    client.force_login(staff(PRIVACY_OFFICER))
    editor = staff(POLICY_EDITOR)
    response = client.post(step(withdrawal, "support_grant"), {"member": editor.pk}, follow=True)
    assert response.status_code == 200
    assert not SupportAccess.objects.exists()
    assert Group.objects.get(name=PRIVACY_OFFICER).permissions.filter(codename="grant_supportaccess").exists()
    assert not Group.objects.get(name=SUPPORT).permissions.filter(codename="grant_supportaccess").exists()


def test_a_nul_in_a_filter_or_search_is_refused_or_ignored_and_still_audited(client, world):
    officer = staff(PRIVACY_OFFICER)
    client.force_login(officer)
    url = changelist("withdrawals.withdrawalrequest")
    assert client.get(url, {"status__exact": "\x00"}).status_code == 400
    assert client.get(url, {"email__startswith": "a\x00"}).status_code == 400
    assert client.get(url, {"q": "\x00", "o": "\x00"}).status_code == 200
    events = list(AuditEvent.objects.filter(actor=officer).order_by("pk"))
    refused = [event.personal["query"] for event in events if event.action == "admin.lookup_refused"]
    listed = [event.personal for event in events if event.action == "admin.list"]
    assert refused == [{"status__exact": ["\ufffd"]}, {"email__startswith": ["a\ufffd"]}]
    assert listed[0]["filters"] == {"o": ["\ufffd"]} and listed[0]["search"] == ""
