"""A catalogue of nasty inputs, each with the outcome it must have. Never a 5xx, never a partial write.

Each row: what is sent, and what must happen (refused with a clear status or form error and nothing stored,
or stored and shown safely).
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.acceptances.models import Acceptance, UseReport
from apps.acceptances.services import service_token_create, service_token_revoke
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals import selectors, services
from apps.withdrawals.models import TimelineEntry, WithdrawalRequest
from apps.withdrawals.tokens import confirm_token_make, status_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.policies.factories import PolicyVersionFactory
from tests.withdrawals.factories import in_review, submit, verified

from .support import record

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

SCRIPT = '<script>alert("x")</script><b onmouseover="x()">bold</b>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
FORM_ERROR = 'class="error-summary"'
RESULTS: dict[str, str] = {}


@dataclass
class World:
    client: object
    staff_client: object
    staff: object
    member: object
    token: str
    version: object


@pytest.fixture
def world(client, django_user_model) -> World:
    from django.test import Client

    version = PolicyVersionFactory(published=True, published_at=timezone.now() - timedelta(days=1))
    staff = StaffFactory()
    staff_client = Client()
    staff_client.force_login(staff)
    _token, raw = service_token_create(name="catalogue")
    # The expected messages are checked in English (the source language).
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    member = UserFactory(email="member@example.kz", language="en")
    return World(client, staff_client, staff, member, raw, version)


def counts() -> dict[str, int]:
    models = (WithdrawalRequest, TimelineEntry, AuditEvent, OutboxEmail, Acceptance, UseReport)
    from django.contrib.auth import get_user_model

    return {model.__name__: model.objects.count() for model in (*models, get_user_model())}


def form(**overrides) -> dict:
    data = {
        "full_name": "Aigerim Nurlanovna",
        "email": "visitor@example.kz",
        "phone": "",
        "scope": "all",
        "acknowledgement": "on",
        "reason": "I no longer use the services.",
        "submission_token": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def deliver_all() -> list:
    mail.outbox = []
    outbox_emails_deliver(email_ids=list(OutboxEmail.objects.values_list("pk", flat=True)))
    return mail.outbox


def refused(response, status: int, before: dict, *, text: str = "") -> None:
    assert response.status_code == status, response.content[:300]
    if text:
        assert text in response.content.decode(), response.content.decode()[:2000]
    assert counts() == before, "a refused request changed the database"


# --- the rows ---------------------------------------------------------------------------------------


def oversized_body(w: World):
    before = counts()
    response = w.client.post("/privacy/withdraw/", form(reason="x" * 2_000_000))
    refused(response, 400, before)


def oversized_name(w: World):
    before = counts()
    refused(w.client.post("/privacy/withdraw/", form(full_name="A" * 201)), 200, before, text=FORM_ERROR)


def oversized_reason(w: World):
    before = counts()
    refused(w.client.post("/privacy/withdraw/", form(reason="r" * 2001)), 200, before, text=FORM_ERROR)


def invalid_utf8_percent_encoded(w: World):
    before = counts()
    body = "&".join(f"{k}={v}" for k, v in form(full_name="X", email="v%40example.kz").items())
    body = body.replace("full_name=X", "full_name=%FF%FEname%C0%AF")
    response = w.client.post("/privacy/withdraw/", body, content_type="application/x-www-form-urlencoded")
    refused(response, 200, before, text="invisible or unreadable")


def invalid_utf8_raw_bytes(w: World):
    token = uuid.uuid4()
    body = f"full_name=\xff\xfe&email=v%40example.kz&scope=all&acknowledgement=on&submission_token={token}"
    response = w.client.post(
        "/privacy/withdraw/", body.encode("latin-1"), content_type="application/x-www-form-urlencoded"
    )
    # Django reads a body that is not UTF-8 as ISO-8859-1: visible letters, stored whole.
    assert response.status_code == 302
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.full_name == "\xff\xfe"
    assert withdrawal.timeline.filter(kind="submitted").exists()


def nul_in_name(w: World):
    before = counts()
    refused(w.client.post("/privacy/withdraw/", form(full_name="Ai\x00gerim")), 200, before, text=FORM_ERROR)


def nul_in_reason(w: World):
    before = counts()
    refused(w.client.post("/privacy/withdraw/", form(reason="bad\x00reason")), 200, before, text=FORM_ERROR)


def nul_in_signup_email_and_login(w: World):
    before = counts()
    data = {"full_name": "A", "email": "a\x00@b.kz", "language": "kk", "password1": "p", "password2": "p"}
    refused(w.client.post("/accounts/signup/", data), 200, before, text=FORM_ERROR)
    refused(w.client.post("/accounts/login/", {"username": "a\x00@b.kz", "password": "x\x00"}), 200, before)


def direction_override_in_name(w: World):
    before = counts()
    response = w.client.post("/privacy/withdraw/", form(full_name="Aigerim \u202etxt.exe"))
    refused(response, 200, before, text="invisible or unreadable")
    w.client.force_login(w.member)
    response = w.client.post("/accounts/", {"full_name": "Admin\u202e", "language": "kk", "phone": ""})
    refused(response, 200, before, text="invisible or unreadable")


def crlf_in_name_stays_one_line(w: World):
    response = w.client.post("/privacy/withdraw/", form(full_name="Aigerim\r\nBcc: all@example.kz"))
    assert response.status_code == 302
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.full_name == "Aigerim Bcc: all@example.kz"
    services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    messages = deliver_all()
    assert len(messages) == 3
    for message in messages:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert message.recipients() in (["visitor@example.kz"], ["info@alilo.kz"])
        assert not message.bcc and not message.cc
        for value in message.extra_headers.values():
            assert "\n" not in str(value) and "\r" not in str(value)


def crlf_in_email_address(w: World):
    before = counts()
    for address in ("visitor@example.kz\r\nBcc: all@example.kz", "visitor@example.kz\nCc:x@y.kz"):
        response = w.client.post("/privacy/withdraw/", form(email=address))
        refused(response, 200, before, text=FORM_ERROR)


def html_everywhere_is_escaped(w: World):
    response = w.client.post(
        "/privacy/withdraw/", form(full_name=SCRIPT, reason=SCRIPT, email="script@example.kz")
    )
    assert response.status_code == 302
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.full_name == " ".join(SCRIPT.split()) and withdrawal.reason == SCRIPT
    services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    withdrawal.refresh_from_db()
    pages = [
        w.client.get(selectors.withdrawal_status_path(withdrawal)),
        w.staff_client.get(f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/change/"),
        w.staff_client.get("/admin/withdrawals/withdrawalrequest/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.content.decode()
    assert "&lt;script&gt;" in pages[1].content.decode()
    for message in deliver_all():
        html = message.alternatives[0][0]
        assert "<script>alert" not in html and "<b onmouseover" not in html
        # Plain text is shown as typed, not HTML-escaped.
        assert "&lt;" not in message.subject and "&lt;" not in message.body
    assert any(SCRIPT in message.body for message in mail.outbox)


def html_in_answer_and_refusal_is_escaped(w: World):
    withdrawal = in_review(staff=w.staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=w.staff, message=SCRIPT)
    path = selectors.withdrawal_status_path(withdrawal)
    token = path.rstrip("/").split("/")[-1]
    response = w.client.post(f"/privacy/withdraw/status/{token}/answer/", {"answer": SCRIPT})
    assert response.status_code == 302
    response = w.staff_client.post(
        f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/workflow/refuse/", {"reason": SCRIPT}
    )
    assert response.status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalRequest.Status.REFUSED and withdrawal.decision_reason == SCRIPT
    page = w.client.get(path).content.decode()
    assert "<script>alert" not in page and ESCAPED in page
    admin = w.staff_client.get(
        f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/change/"
    ).content.decode()
    assert "<script>alert" not in admin and ESCAPED in admin
    for message in deliver_all():
        assert "<script>alert" not in message.alternatives[0][0]


def html_in_signup_name(w: World):
    data = {
        "full_name": SCRIPT,
        "email": "html@example.kz",
        "language": "en",
        "password1": "a-long-enough-passphrase",
        "password2": "a-long-enough-passphrase",
        "policy_version": str(w.version.number),
        "accept_policy": "on",
    }
    assert w.client.post("/accounts/signup/", data).status_code == 302
    assert Acceptance.objects.filter(user__email="html@example.kz", method="signup").exists()
    page = w.client.get("/accounts/").content.decode()
    assert "<script>alert" not in page
    admin = w.staff_client.get("/admin/accounts/user/").content.decode()
    assert "<script>alert" not in admin


def forged_confirm_link(w: World):
    withdrawal = submit()
    before = counts()
    forged = confirm_token_make(withdrawal.public_id)[:-3] + "abc"
    refused(w.client.get(f"/privacy/withdraw/confirm/{forged}/"), 404, before)
    refused(w.client.post(f"/privacy/withdraw/confirm/{forged}/"), 404, before)
    refused(w.client.post(f"/privacy/withdraw/confirm/{uuid.uuid4().hex}/"), 404, before)


def expired_confirm_link(w: World):
    withdrawal = submit()
    token = confirm_token_make(withdrawal.public_id)
    before = counts()
    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        refused(w.client.post(f"/privacy/withdraw/confirm/{token}/"), 410, before)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalRequest.Status.UNVERIFIED


def replayed_confirm_link(w: World):
    withdrawal = submit()
    token = confirm_token_make(withdrawal.public_id)
    assert w.client.post(f"/privacy/withdraw/confirm/{token}/").status_code == 302
    before = counts()
    response = w.client.post(f"/privacy/withdraw/confirm/{token}/")
    assert response.status_code == 302 and "/status/" in response["Location"]
    assert counts() == before


def forged_status_link(w: World):
    withdrawal = verified()
    before = counts()
    good = status_token_make(withdrawal.public_id)
    for token in (good[:-2] + "xx", confirm_token_make(withdrawal.public_id), "%00", "a" * 5000):
        refused(w.client.get(f"/privacy/withdraw/status/{token}/"), 404, before)
        refused(w.client.post(f"/privacy/withdraw/status/{token}/answer/", {"answer": "x"}), 404, before)


def forged_and_replayed_password_reset(w: World):
    user = w.member
    old_hash = user.password
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    response = w.client.get(f"/accounts/reset/{uid}/forged-token-value/", follow=True)
    assert response.status_code == 200 and response.context["validlink"] is False
    token = default_token_generator.make_token(user)
    response = w.client.get(f"/accounts/reset/{uid}/{token}/", follow=True)
    assert response.context["validlink"] is True
    new = "a-brand-new-passphrase"
    response = w.client.post(response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password != old_hash
    replay = w.client.get(f"/accounts/reset/{uid}/{token}/", follow=True)
    assert replay.context["validlink"] is False


def bad_api_tokens(w: World):
    before = counts()
    body = json.dumps(
        {"email": "member@example.kz", "version": w.version.number, "channel": "app", "language": "kk"}
    )
    revoked_token, revoked_raw = service_token_create(name="old")
    service_token_revoke(token=revoked_token)
    before = counts()
    for header in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer forged"},
        {"HTTP_AUTHORIZATION": f"Bearer {revoked_raw}"},
    ):
        response = w.client.post("/api/v1/acceptances", body, content_type="application/json", **header)
        refused(response, 401, before)


def unknown_purpose(w: World):
    before = counts()
    response = w.client.post("/privacy/withdraw/", form(scope="partial", purposes=["spying", "marketing"]))
    refused(response, 200, before, text=FORM_ERROR)
    refused(w.client.post("/privacy/withdraw/", form(scope="everything")), 200, before, text=FORM_ERROR)


def a_million_purposes(w: World):
    before = counts()
    body = "&".join(["purposes=marketing"] * 1_000_000) + "&full_name=A&email=a%40b.kz&scope=partial"
    response = w.client.post("/privacy/withdraw/", body, content_type="application/x-www-form-urlencoded")
    refused(response, 400, before)
    body = "&".join(["purposes=marketing"] * 1500) + "&full_name=A&email=a%40b.kz&scope=partial"
    response = w.client.post("/privacy/withdraw/", body, content_type="application/x-www-form-urlencoded")
    refused(response, 400, before)


def wrong_content_types(w: World):
    before = counts()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    refused(
        w.client.post("/privacy/withdraw/", json.dumps(form()), content_type="application/json"), 200, before
    )
    refused(w.client.post("/privacy/withdraw/", b"junk", content_type="multipart/form-data"), 400, before)
    refused(w.client.post("/api/v1/acceptances", {"version": 1}, **auth), 415, before)
    refused(w.client.post("/api/v1/acceptances", "hello", content_type="text/plain", **auth), 415, before)
    body = json.dumps({"email": "member@example.kz", "version": 1, "channel": "app", "language": "kk"})
    refused(w.client.post("/api/v1/acceptances", body, content_type="text/plain", **auth), 415, before)
    refused(w.client.post("/api/v1/uses", b"{\xff\xfe", content_type="application/json", **auth), 400, before)
    refused(
        w.client.post("/api/v1/acceptances", "[1, 2]", content_type="application/json", **auth), 422, before
    )


def control_characters_in_api_bodies(w: World):
    before = counts()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    base = {"version": w.version.number, "channel": "app", "language": "kk"}
    for body in (
        {**base, "email": "member\x00@example.kz"},
        {**base, "email": "member@example.kz", "user_agent": "app\x00"},
    ):
        response = w.client.post(
            "/api/v1/acceptances", json.dumps(body), content_type="application/json", **auth
        )
        refused(response, 422, before)
    response = w.client.get("/api/v1/consent-status?email=a%00b%40example.kz", **auth)
    refused(response, 422, before)


def declared_charsets(w: World):
    before = counts()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    body = "&".join(f"{key}={value}" for key, value in form().items()).encode()
    for charset in ("utf-16", "rot13", "idna", "x-unknown"):
        for path in ("/privacy/withdraw/", "/accounts/signup/", "/accounts/login/"):
            content_type = f"application/x-www-form-urlencoded; charset={charset}"
            refused(w.client.generic("POST", path, body, content_type=content_type), 400, before)
            content_type = f"multipart/form-data; boundary=b; charset={charset}"
            refused(w.client.generic("POST", path, b"--b--\r\n", content_type=content_type), 400, before)
        content_type = f"application/json; charset={charset}"
        response = w.client.generic("POST", "/api/v1/uses", b"{}", content_type=content_type, **auth)
        refused(response, 400, before)


def invisible_characters_in_free_text(w: World):
    before = counts()
    for character in ("\u202e", "\u2066", "\u200b", "\ufeff", "\x1b"):
        response = w.client.post("/privacy/withdraw/", form(reason=f"Stop{character} it"))
        refused(response, 200, before, text="invisible or unreadable")
    withdrawal = in_review(staff=w.staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=w.staff, message="Which city?")
    path = selectors.withdrawal_status_path(withdrawal)
    before = counts()
    response = w.client.post(f"{path}answer/", {"answer": "Almaty\u202etxt.exe"})
    refused(response, 400, before, text="invisible or unreadable")
    response = w.staff_client.post(
        f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/workflow/note/", {"text": "a\u202eb"}
    )
    assert response.status_code == 302
    assert counts() == before


def ip_literal_email_address(w: World):
    before = counts()
    for address in ("visitor@[127.0.0.1]", "visitor@[IPv6:::1]"):
        refused(w.client.post("/privacy/withdraw/", form(email=address)), 200, before, text=FORM_ERROR)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    refused(w.client.get("/api/v1/consent-status?email=a%40%5B127.0.0.1%5D", **auth), 422, before)


def api_ids_and_times_not_as_declared(w: World):
    before = counts()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    base = {"version": w.version.number, "channel": "app", "language": "kk"}
    for body in ({**base, "user_id": True}, {**base, "user_id": str(w.member.pk)}, {**base, "version": "1"}):
        response = w.client.post(
            "/api/v1/acceptances", json.dumps(body), content_type="application/json", **auth
        )
        refused(response, 422, before)
    for moment in ("0001-01-01T00:00:00+00:00", "2019-06-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"):
        use = {"user_id": w.member.pk, "used_at": moment, "channel": "app"}
        body = json.dumps({"uses": [use]})
        refused(w.client.post("/api/v1/uses", body, content_type="application/json", **auth), 422, before)


def oversized_api_body(w: World):
    before = counts()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    use = {"email": "member@example.kz", "used_at": timezone.now().isoformat(), "channel": "web"}
    for uses in ([use] * 20_000, [use] * 1001):
        body = json.dumps({"uses": uses})
        response = w.client.post("/api/v1/uses", body, content_type="application/json", **auth)
        refused(response, 400 if len(body) > 1024 * 1024 else 422, before)


CATALOGUE: list[tuple[str, str, Callable]] = [
    ("oversized body (2 MB form)", "400, nothing stored", oversized_body),
    ("name over 200 characters", "form error, nothing stored", oversized_name),
    ("reason over 2000 characters", "form error, nothing stored", oversized_reason),
    (
        "invalid UTF-8, percent-encoded",
        "form error (unreadable characters), nothing stored",
        invalid_utf8_percent_encoded,
    ),
    (
        "invalid UTF-8, raw bytes",
        "form error (unreadable characters), nothing stored",
        invalid_utf8_raw_bytes,
    ),
    ("NUL byte in a name", "form error, nothing stored", nul_in_name),
    ("NUL byte in a free text", "form error, nothing stored", nul_in_reason),
    ("NUL byte in sign-up and log-in", "form error, nothing stored", nul_in_signup_email_and_login),
    ("Unicode direction override in a name", "form error, nothing stored", direction_override_in_name),
    ("CR/LF in a name", "stored on one line; no header injected in any email", crlf_in_name_stays_one_line),
    ("CR/LF (Bcc:, Cc:) in an email address", "form error, nothing stored", crlf_in_email_address),
    (
        "HTML and script in name and reason",
        "stored as typed; escaped in pages, emails, admin",
        html_everywhere_is_escaped,
    ),
    (
        "HTML in the answer and the refusal reason",
        "stored; escaped in the status page, admin, emails",
        html_in_answer_and_refusal_is_escaped,
    ),
    (
        "HTML in the sign-up name",
        "account created with its acceptance; escaped in pages",
        html_in_signup_name,
    ),
    ("forged confirm link", "404, nothing changed", forged_confirm_link),
    ("expired confirm link", "410, request stays unconfirmed", expired_confirm_link),
    ("replayed confirm link", "redirect to the status page, nothing sent twice", replayed_confirm_link),
    ("forged status link (or a confirm token as one)", "404, nothing changed", forged_status_link),
    (
        "forged and replayed password-reset link",
        "invalid-link page, password unchanged",
        forged_and_replayed_password_reset,
    ),
    ("missing, forged or revoked API token", "401, nothing stored", bad_api_tokens),
    ("unknown purpose or scope", "form error, nothing stored", unknown_purpose),
    ("a million purposes", "400, nothing stored", a_million_purposes),
    (
        "wrong content types (form and API)",
        "form error / 400 / 415 / 422, nothing stored",
        wrong_content_types,
    ),
    ("control characters in API bodies and queries", "422, nothing stored", control_characters_in_api_bodies),
    ("a declared charset other than UTF-8 (forms and API)", "400, nothing stored", declared_charsets),
    (
        "direction overrides and invisible characters in free text",
        "form error, nothing stored",
        invisible_characters_in_free_text,
    ),
    ("email address at an IP literal", "form error / 422, nothing stored", ip_literal_email_address),
    (
        "API ids as true or text, times outside the service's life",
        "422, nothing stored",
        api_ids_and_times_not_as_declared,
    ),
    ("oversized API batch", "400 or 422, nothing stored", oversized_api_body),
]


@pytest.fixture(scope="module", autouse=True)
def _catalogue_report():
    yield
    if RESULTS:
        passed = sum(1 for outcome in RESULTS.values() if outcome == "as expected")
        record(
            "hostile-catalogue",
            done=f"{len(RESULTS)} kinds of nasty input (oversized, invalid UTF-8, NUL, direction overrides, "
            "CR/LF, HTML, forged/expired/replayed links and tokens, purposes, content types, charsets); "
            f"{passed} behaved as expected",
            filed=len(RESULTS),
            stored=passed,
            duplicates=0,
            lost=len(RESULTS) - passed,
            errors_5xx=sum(1 for outcome in RESULTS.values() if outcome == "5xx"),
        )


@pytest.mark.parametrize(("name", "expected", "run"), CATALOGUE, ids=[row[0] for row in CATALOGUE])
def test_nasty_input(name, expected, run, world):
    RESULTS[name] = "failed"
    try:
        run(world)
    except AssertionError:
        raise
    except Exception:  # the test client re-raises what would have been a 500
        RESULTS[name] = "5xx"
        raise
    RESULTS[name] = "as expected"
