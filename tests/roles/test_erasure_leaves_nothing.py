"""After a person's data is erased, no table holds their email address, name, phone, IP address or user
agent: every kind of record is filled for one account holder and one visitor without an account, the daily
retention task runs, and every table of the database is read back and searched for their strings."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.acceptances import services as acceptance_services
from apps.acceptances.models import UseReport
from apps.accounts import services as account_services
from apps.accounts.tasks import retention_erase
from apps.accounts.tokens import email_verify_token_make
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_tracking_record
from apps.withdrawals import services as withdrawal_services
from apps.withdrawals.models import ApplicationScan
from apps.withdrawals.views import SENT_SESSION_KEY
from tests.acceptances.conftest import publish
from tests.roles.conftest import member
from tests.withdrawals.factories import access_request, submit, verified

pytestmark = pytest.mark.django_db


def person(tag: str) -> dict[str, str]:
    return {
        "email": f"{tag}.zhanna@example.kz",
        "full_name": f"Zhanna {tag.capitalize()}uly-Qwerty",
        "phone": {"gone": "+77015559911", "visitor": "+77015559922", "kept": "+77015559933"}[tag],
        "ip": {"gone": "203.0.113.77", "visitor": "203.0.113.88", "kept": "203.0.113.99"}[tag],
        "user_agent": f"UniqueBrowser/9.9 ({tag}-agent)",
    }


GONE, VISITOR, KEPT = person("gone"), person("visitor"), person("kept")


def database_text() -> str:
    """Every row of every table in the database, as text, lower case."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.append(f"{table}: {cursor.fetchall()!r}")
    return "\n".join(parts).lower()


def strings_of(who: dict[str, str]) -> dict[str, str]:
    return {**who, "phone digits": who["phone"].lstrip("+"), "surname": who["full_name"].split()[1]}


def account_holder(who: dict[str, str], *, staff, client, version) -> object:
    """An account with everything a person leaves behind, as the services and the admin write it."""
    user = account_services.user_signup(
        email=who["email"],
        password="correct-horse-battery",
        full_name=who["full_name"],
        phone=who["phone"],
        language="en",
        ip=who["ip"],
    )
    user = account_services.user_email_verify(token=email_verify_token_make(user), ip=who["ip"])
    account_services.user_profile_update(
        user=user, full_name=who["full_name"], phone=who["phone"], language="kk", ip=who["ip"]
    )
    acceptance_services.acceptance_record_explicit(
        user=user, version=version, language="kk", ip=who["ip"], user_agent=who["user_agent"]
    )
    token, _raw = acceptance_services.service_token_create(name=f"App {user.pk}")
    UseReport.objects.create(user=user, used_at=timezone.now(), channel="app", token=token)
    account_services.user_last_use_record(user_id=user.pk, at=timezone.now())
    # A request signed in, worked through to a granted full withdrawal, which ends the agreement.
    signed_in = submit(
        requester=user,
        email=who["email"],
        full_name=who["full_name"],
        phone=who["phone"],
        reason=f"Please stop, {who['full_name']}, {who['phone']}",
        ip=who["ip"],
        user_agent=who["user_agent"],
    )
    withdrawal_services.withdrawal_request_review_start(withdrawal=signed_in, actor=staff)
    withdrawal_services.withdrawal_request_information_ask(
        withdrawal=signed_in, actor=staff, message="Which services do you use?"
    )
    withdrawal_services.withdrawal_request_information_provide(
        withdrawal=signed_in, answer=f"All of them; call me on {who['phone']}", ip=who["ip"], actor=user
    )
    # A request by the same address without signing in.
    verified(
        email=who["email"],
        full_name=who["full_name"],
        phone=who["phone"],
        ip=who["ip"],
        user_agent=who["user_agent"],
    )
    # An access request, answered with a package of everything above (built at once: no service connected).
    access_request(
        requester=user,
        email=who["email"],
        full_name=who["full_name"],
        phone=who["phone"],
        ip=who["ip"],
        user_agent=who["user_agent"],
    )
    # Staff look the person up, open the account and the request, and the ESP reports on an email.
    client.get(reverse("admin:accounts_user_changelist"), {"q": who["email"]})
    client.get(reverse("admin:accounts_user_changelist"), {"q": who["full_name"]})
    client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    client.get(reverse("admin:withdrawals_withdrawalrequest_change", args=[signed_in.pk]))
    email = OutboxEmail.objects.filter(to=who["email"]).first()
    client.get(reverse("admin:notifications_outboxemail_change", args=[email.pk]))
    OutboxEmail.objects.filter(pk=email.pk).update(
        provider_message_id=f"msg-{user.pk}", last_error=f"Recipient {who['email']} deferred"
    )
    outbox_tracking_record(
        provider_message_id=f"msg-{user.pk}", status="bounced", detail=f"550 {who['email']} unknown"
    )
    LogEntry.objects.log_actions(user_id=staff.pk, queryset=[user], action_flag=CHANGE, change_message="")
    # Their log-ins: a session, django-axes' records.
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.set_expiry(timedelta(days=10 * 365))
    session.save()
    for model, extra in (
        (AccessAttempt, {"failures_since_start": 1, "get_data": "", "post_data": ""}),
        (AccessLog, {}),
    ):
        model.objects.create(
            username=who["email"],
            ip_address=who["ip"],
            user_agent=who["user_agent"],
            http_accept="text/html",
            path_info="/accounts/login/",
            **extra,
        )
    withdrawal_services.withdrawal_request_grant(withdrawal=signed_in, actor=staff)
    return user


def visitor(who: dict[str, str], *, staff, client) -> object:
    """A visitor without an account whose request was decided."""
    withdrawal = verified(
        email=who["email"],
        full_name=who["full_name"],
        phone=who["phone"],
        ip=who["ip"],
        user_agent=who["user_agent"],
        reason=f"I am {who['full_name']}",
    )
    withdrawal_services.withdrawal_request_view_record(
        withdrawal=withdrawal, actor=None, ip=who["ip"], view="status"
    )
    client.get(reverse("admin:withdrawals_withdrawalrequest_changelist"), {"q": who["email"]})
    withdrawal_services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    withdrawal_services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    session = SessionStore()
    session[SENT_SESSION_KEY] = who["email"]
    session.save()
    # The same person's letter, registered by staff with its scan and a postal address.
    letter = withdrawal_services.withdrawal_request_register_received(
        actor=staff,
        channel="post",
        received_at=timezone.now() - timedelta(hours=1),
        full_name=who["full_name"],
        email=who["email"],
        phone=who["phone"],
        postal_address=f"{who['full_name']}, Almaty, Abai avenue 1",
        scope="all",
        purposes=[],
        reason=f"Letter from {who['full_name']}",
        acknowledgement=True,
        language="ru",
        scan=SimpleUploadedFile(
            "letter.pdf", f"%PDF {who['full_name']}".encode(), content_type="application/pdf"
        ),
    )
    withdrawal_services.withdrawal_request_cancel(withdrawal=letter, actor=staff)
    return withdrawal


def test_erasure_leaves_no_email_name_phone_ip_or_user_agent_in_any_table(client):
    version = publish()
    staff = member("Privacy officer", email="officer@alilo.kz", full_name="Officer Staff")
    client.force_login(staff)
    gone = account_holder(GONE, staff=staff, client=client, version=version)
    visitor(VISITOR, staff=staff, client=client)
    kept = account_holder(KEPT, staff=staff, client=client, version=version)
    get_user_model().objects.filter(pk=kept.pk).update(agreement_status="active", agreement_ended_at=None)
    before = database_text()
    for who in (GONE, VISITOR, KEPT):
        assert all(value.lower() in before for value in strings_of(who).values()), who

    with time_machine.travel(timezone.now() + timedelta(days=3 * 365 + 2), tick=False):
        retention_erase()

    after = database_text()
    for who in (GONE, VISITOR):
        left = {name: value for name, value in strings_of(who).items() if value.lower() in after}
        assert not left, f"still in the database after erasure: {left}"
    # The dump does read everything: the person whose agreement is in force is all still there.
    assert all(value.lower() in after for value in strings_of(KEPT).values())
    assert not ApplicationScan.objects.exists()  # the scan of the visitor's letter went with it
    gone.refresh_from_db()
    assert gone.erased_at is not None
