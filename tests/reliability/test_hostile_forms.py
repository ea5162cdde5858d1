"""Property-based tests (hypothesis) of every form and API body that takes user input.

Whatever is sent: no 5xx, and either the whole change is stored (with its timeline entry, audit event, emails
and acceptance) or nothing is.
"""

import json
import os
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.acceptances.models import Acceptance, UseReport
from apps.acceptances.services import service_token_create
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.withdrawals import selectors, services
from apps.withdrawals.models import Purpose, TimelineEntry, WithdrawalRequest
from tests.accounts.factories import StaffFactory, UserFactory
from tests.policies.factories import PolicyVersionFactory
from tests.withdrawals.factories import in_review

from .invariants import violations
from .support import record

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "25"))
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
TALLY = {"examples": 0, "stored": 0, "server_errors": 0}

NASTY = [
    '<script>alert("x")</script>',
    "\x00",
    "\u202eevil",
    "a\r\nBcc: all@example.kz",
    "",
    " ",
    "😀" * 60,
    "' OR 1=1 --",
    "{{ settings.SECRET_KEY }}",
    "%s%n",
    "\ufffd",
]
text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(NASTY),
    st.text(min_size=190, max_size=260),
    st.text(alphabet="ab \n\r\t", min_size=1900, max_size=5100),
)
email = st.one_of(st.emails(), text, st.sampled_from(["a@b.kz\r\nBcc: x@y.kz", "x" * 250 + "@b.kz"]))
choice = st.one_of(st.sampled_from(["all", "partial", "kk", "ru", "en"]), text)
purposes = st.lists(st.one_of(st.sampled_from(Purpose.values), text), max_size=12)
flag = st.sampled_from(["on", "", "off", "1", "true", None])


def snapshot() -> dict[str, int]:
    models = (WithdrawalRequest, TimelineEntry, AuditEvent, OutboxEmail, Acceptance, UseReport)
    return {model.__name__: model.objects.count() for model in (*models, get_user_model())}


def delta(before: dict[str, int]) -> dict[str, int]:
    return {name: count - before[name] for name, count in snapshot().items() if count != before[name]}


def checked(response) -> None:
    TALLY["examples"] += 1
    if response.status_code >= 500:
        TALLY["server_errors"] += 1
    assert response.status_code < 500
    with connection.cursor() as cursor:
        assert violations(cursor) == {}


def without_none(data: dict) -> dict:
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATELIMIT_ENABLE = False


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    record(
        "hostile-forms",
        done=f"hypothesis: {TALLY['examples']} generated submissions of the sign-up, profile, withdrawal, "
        "status-answer and admin-refusal forms and the API bodies (NUL, overrides, CR/LF, HTML, huge, empty)",
        filed=TALLY["examples"],
        stored=TALLY["stored"],
        duplicates=0,
        lost=0,
        errors_5xx=TALLY["server_errors"],
    )


@pytest.fixture
def version():
    return PolicyVersionFactory(published=True, published_at=timezone.now() - timedelta(days=1))


@HYPOTHESIS
@given(
    full_name=text,
    address=email,
    phone=st.one_of(st.just(""), text, st.sampled_from(["+77011234567", "8 701 123 45 67"])),
    scope=choice,
    chosen=purposes,
    reason=text,
    acknowledgement=flag,
    token=st.one_of(st.uuids().map(str), text),
)
def test_withdrawal_form_stores_all_or_nothing(
    client, full_name, address, phone, scope, chosen, reason, acknowledgement, token
):
    before = snapshot()
    data = without_none(
        {
            "full_name": full_name,
            "email": address,
            "phone": phone,
            "scope": scope,
            "purposes": chosen,
            "reason": reason,
            "acknowledgement": acknowledgement,
            "submission_token": token,
        }
    )
    response = client.post("/privacy/withdraw/", data)
    checked(response)
    change = delta(before)
    if change:
        TALLY["stored"] += 1
        assert response.status_code == 302
        assert change == {"WithdrawalRequest": 1, "TimelineEntry": 1, "AuditEvent": 1, "OutboxEmail": 1}
    else:
        assert response.status_code in (200, 302, 400)


@HYPOTHESIS
@given(
    full_name=text,
    address=email,
    phone=st.one_of(st.just(""), text),
    language=choice,
    password=st.one_of(st.text(max_size=40), st.just("a-long-enough-passphrase")),
    again=st.booleans(),
    accept=flag,
    number=st.one_of(st.none(), text, st.integers(-5, 5).map(str)),
)
def test_signup_creates_the_account_with_its_acceptance_or_nothing(
    version, full_name, address, phone, language, password, again, accept, number
):
    client = Client()
    before = snapshot()
    data = without_none(
        {
            "full_name": full_name,
            "email": address,
            "phone": phone,
            "language": language,
            "password1": password,
            "password2": password if again else password + "x",
            "accept_policy": accept,
            "policy_version": number if number is not None else str(version.number),
        }
    )
    response = client.post("/accounts/signup/", data)
    checked(response)
    change = delta(before)
    if change:
        TALLY["stored"] += 1
        assert response.status_code == 302
        assert change == {"User": 1, "Acceptance": 1, "AuditEvent": 2}
        assert Acceptance.objects.filter(user__email=address.strip().lower(), method="signup").exists()
    else:
        assert response.status_code == 200


@HYPOTHESIS
@given(full_name=text, phone=st.one_of(st.just(""), text), language=choice)
def test_profile_saves_everything_or_nothing(client, full_name, phone, language):
    user = get_user_model().objects.filter(email="profile@example.kz").first() or UserFactory(
        email="profile@example.kz"
    )
    client.force_login(user)
    old = get_user_model().objects.values("full_name", "phone", "language").get(pk=user.pk)
    before = snapshot()
    response = client.post("/accounts/", {"full_name": full_name, "phone": phone, "language": language})
    checked(response)
    change = delta(before)
    now = get_user_model().objects.values("full_name", "phone", "language").get(pk=user.pk)
    if response.status_code == 302:
        TALLY["stored"] += 1
        assert change == {"AuditEvent": 1}
        assert now["full_name"] == " ".join(full_name.split())
    else:
        assert change == {} and now == old


@HYPOTHESIS
@given(answer=text)
def test_status_page_answer_is_recorded_whole_or_not_at_all(client, answer):
    staff = StaffFactory()
    withdrawal = in_review(staff=staff, email=f"answer-{uuid.uuid4().hex[:8]}@example.kz")
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Which account?")
    token = selectors.withdrawal_status_path(withdrawal).rstrip("/").split("/")[-1]
    before = snapshot()
    response = client.post(f"/privacy/withdraw/status/{token}/answer/", {"answer": answer})
    checked(response)
    change = delta(before)
    withdrawal.refresh_from_db()
    if change:
        TALLY["stored"] += 1
        assert change == {"TimelineEntry": 1, "AuditEvent": 1, "OutboxEmail": 1}
        assert withdrawal.status == WithdrawalRequest.Status.IN_REVIEW
    else:
        assert withdrawal.status == WithdrawalRequest.Status.AWAITING_INFORMATION


@HYPOTHESIS
@given(reason=text)
def test_admin_refusal_reason_is_recorded_whole_or_not_at_all(reason):
    staff = StaffFactory()
    client = Client()
    client.force_login(staff)
    withdrawal = in_review(staff=staff, email=f"refuse-{uuid.uuid4().hex[:8]}@example.kz")
    before = snapshot()
    url = f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/workflow/refuse/"
    response = client.post(url, {"reason": reason})
    checked(response)
    change = delta(before)
    withdrawal.refresh_from_db()
    if change:
        TALLY["stored"] += 1
        assert change == {"TimelineEntry": 1, "AuditEvent": 1, "OutboxEmail": 1}
        assert withdrawal.status == WithdrawalRequest.Status.REFUSED and withdrawal.decision_reason
    else:
        assert withdrawal.status == WithdrawalRequest.Status.IN_REVIEW


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)),
    max_leaves=8,
)


@HYPOTHESIS
@given(
    body=st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "user_id": st.one_of(st.integers(), json_values),
                "email": st.one_of(email, json_values),
                "version": st.one_of(st.integers(), json_values),
                "channel": st.one_of(st.sampled_from(["app", "api", "web"]), json_values),
                "language": st.one_of(st.sampled_from(["kk", "ru", "en"]), json_values),
                "ip": st.one_of(st.ip_addresses().map(str), json_values),
                "user_agent": st.one_of(text, json_values),
                "text_sha256": st.one_of(text, json_values),
                "uses": st.one_of(
                    st.lists(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "email": st.one_of(email, json_values),
                                "user_id": st.one_of(st.integers(), json_values),
                                "used_at": st.one_of(st.datetimes().map(str), json_values),
                                "channel": st.one_of(st.sampled_from(["web", "app"]), json_values),
                            },
                        ),
                        max_size=5,
                    ),
                    json_values,
                ),
            },
        ),
        json_values,
    ),
    path=st.sampled_from(["/api/v1/acceptances", "/api/v1/uses"]),
)
def test_api_bodies_never_fail_or_half_write(client, version, body, path):
    UserFactory(email="api@example.kz") if not get_user_model().objects.filter(
        email="api@example.kz"
    ) else None
    _token, raw = service_token_create(name=f"fuzz-{uuid.uuid4().hex[:6]}")
    before = snapshot()
    response = client.post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    checked(response)
    change = delta(before)
    if response.status_code >= 300:
        assert change == {}
    elif change:
        TALLY["stored"] += 1
