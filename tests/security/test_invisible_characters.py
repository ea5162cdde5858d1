"""Direction overrides and other invisible characters are refused in every free-text field, not only in names.

Each field is tried through the page that takes it (the public form, the status page, the admin workflow, the
policy, third-party and user admin): refused with the translated message, and nothing is stored.
"""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.core.validators import (
    validate_formatted_text,
    validate_visible_multiline_text,
    validate_visible_text,
)
from apps.policies.models import PolicyText, PolicyVersion
from apps.withdrawals import services
from apps.withdrawals.models import ThirdParty, TimelineEntry, WithdrawalRequest
from apps.withdrawals.tokens import status_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.policies.test_admin import text_forms
from tests.withdrawals.factories import in_review

pytestmark = pytest.mark.django_db

INVISIBLE = "Remove the invisible or unreadable characters from this field."
DIRECTION = "Remove the text direction controls (U+202A to U+202E, U+2066 to U+2069) from this text."
# Embeddings, overrides, isolates; zero-width space, direction marks, BOM; C0 and C1 controls; the line and
# paragraph separators; private use; the replacement character of undecodable bytes.
DIRECTION_CONTROLS = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]
OTHER_INVISIBLE = ["\u200b", "\u200e", "\u200f", "\ufeff", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u2028"]
OTHER_INVISIBLE += ["\u2029", "\ue000", "\ufffd", "\u2060", "\u00ad"]
EVERY_INVISIBLE = DIRECTION_CONTROLS + OTHER_INVISIBLE
PERSIAN = "\u0646\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I do not want", with a non-joiner
MULTILINE = f"First line,\r\nsecond line\twith a tab; a family 👨\u200d👩\u200d👧 and Persian {PERSIAN}."
STORED = MULTILINE.replace("\r\n", "\n")  # as the services store it


def _text(character: str) -> str:
    return f"Please stop{character} using my data.exe"


@pytest.fixture
def staff_client():
    staff = StaffFactory(language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    client.staff = staff
    return client


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the public site ---------------------------------------------------------------------------------


@pytest.mark.parametrize("character", EVERY_INVISIBLE)
def test_withdrawal_reason(client, character):
    data = {
        "full_name": "Aigerim",
        "email": "visitor@example.kz",
        "scope": "all",
        "acknowledgement": "on",
        "reason": _text(character),
        "submission_token": str(uuid.uuid4()),
    }
    response = client.post("/privacy/withdraw/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and INVISIBLE in response.content.decode()
    assert not WithdrawalRequest.objects.exists()


@pytest.mark.parametrize("character", EVERY_INVISIBLE)
def test_answer_to_a_request_for_information(client, character):
    staff = StaffFactory()
    withdrawal = in_review(staff=staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Which city?")
    url = reverse("withdrawals:answer", args=[status_token_make(withdrawal.public_id)])
    response = client.post(url, {"answer": _text(character)}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and INVISIBLE in response.content.decode()
    assert not withdrawal.timeline.filter(kind=TimelineEntry.Kind.INFORMATION_PROVIDED).exists()


def test_multiline_text_keeps_its_line_breaks_tabs_and_joiners(client):
    data = {
        "full_name": "Aigerim",
        "email": "visitor@example.kz",
        "scope": "all",
        "acknowledgement": "on",
        "reason": MULTILINE,
        "submission_token": str(uuid.uuid4()),
    }
    assert client.post("/privacy/withdraw/", data).status_code == 302
    assert WithdrawalRequest.objects.get().reason == STORED


# --- the admin workflow ------------------------------------------------------------------------------


@pytest.mark.parametrize("character", EVERY_INVISIBLE)
@pytest.mark.parametrize(("step", "field"), [("ask", "message"), ("refuse", "reason"), ("note", "text")])
def test_staff_messages_refusal_reasons_and_notes(staff_client, step, field, character):
    withdrawal = in_review(staff=staff_client.staff)
    entries = withdrawal.timeline.count()
    url = reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, step])
    response = staff_client.post(url, {field: _text(character)}, follow=True)
    assert INVISIBLE in _messages(response)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review" and withdrawal.timeline.count() == entries


@pytest.mark.parametrize("step", ["ask", "refuse", "note"])
def test_staff_multiline_text_is_taken(staff_client, step):
    withdrawal = in_review(staff=staff_client.staff)
    field = {"ask": "message", "refuse": "reason", "note": "text"}[step]
    url = reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, step])
    response = staff_client.post(url, {field: MULTILINE}, follow=True)
    assert INVISIBLE not in _messages(response)
    assert withdrawal.timeline.filter(text=STORED).exists()


# --- policy texts, third parties, users in the admin -------------------------------------------------


def _post_draft(staff_client, title="Policy", summary="What changed", body="1. Text"):
    return staff_client.post(
        reverse("admin:policies_policyversion_add"),
        {"number": "7", **text_forms([("en", title, summary, body)]), "_continue": "1"},
    )


@pytest.mark.parametrize("character", EVERY_INVISIBLE)
@pytest.mark.parametrize("field", ["title", "summary"])
def test_policy_title_and_summary(staff_client, field, character):
    response = _post_draft(staff_client, **{field: _text(character)})
    assert response.status_code == 200 and INVISIBLE in response.content.decode()
    assert not PolicyVersion.objects.exists() and not PolicyText.objects.exists()


@pytest.mark.parametrize("character", DIRECTION_CONTROLS)
def test_policy_body_refuses_direction_controls(staff_client, character):
    response = _post_draft(staff_client, body=f"1. Text{character} reversed")
    assert response.status_code == 200 and DIRECTION in response.content.decode()
    assert not PolicyVersion.objects.exists()


@pytest.mark.parametrize("character", ["\x07", "\x1b", "\x85"])
def test_policy_body_refuses_control_characters(staff_client, character):
    response = _post_draft(staff_client, body=f"1. Text{character} more")
    assert response.status_code == 200 and INVISIBLE in response.content.decode()
    assert not PolicyVersion.objects.exists()


def test_policy_body_keeps_its_formatting(staff_client):
    # A soft hyphen, a tab, a zero-width space, direction marks and a word joiner.
    body = "1. Personal\u00addata\r\n\r\n1.1.\tA\u200bB, \u200eAlilo\u200f, word\u2060joiner"
    response = _post_draft(staff_client, summary="Line one\r\nLine two", body=body)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PolicyText.objects.get().body == body.replace("\r\n", "\n")


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\x07"])
def test_third_party_name(staff_client, character):
    response = staff_client.post(
        "/admin/withdrawals/thirdparty/add/",
        {
            "name": f"Courier{character} LLP",
            "contact_email": "dpo@courier.kz",
            "language": "ru",
            "active": "on",
        },
    )
    assert response.status_code == 200 and INVISIBLE in response.content.decode()
    assert not ThirdParty.objects.exists()


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\x07"])
def test_user_name_in_the_admin(staff_client, character):
    user = UserFactory(full_name="Aigerim")
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new@example.kz",
            "full_name": f"Admin{character}",
            "language": "en",
            "usable_password": "false",
        },
    )
    assert response.status_code == 200 and INVISIBLE in response.content.decode()
    assert not type(user).objects.filter(email="new@example.kz").exists()


# --- the validators ----------------------------------------------------------------------------------


@pytest.mark.parametrize("character", [*EVERY_INVISIBLE, "\n", "\t", "\r"])
def test_one_line_text_refuses_every_invisible_character_and_line_break(character):
    with pytest.raises(ValidationError) as refused:
        validate_visible_text(f"a{character}b")
    assert refused.value.code == "invisible"


@pytest.mark.parametrize("character", EVERY_INVISIBLE)
def test_multiline_text_refuses_every_invisible_character(character):
    with pytest.raises(ValidationError) as refused:
        validate_visible_multiline_text(f"a{character}b")
    assert refused.value.code == "invisible"


def test_visible_text_is_taken():
    validate_visible_text(f"Айгерим Нурланова O'Brien-Smith 👨\u200d👩\u200d👧 {PERSIAN}")
    validate_visible_multiline_text(MULTILINE)
    validate_formatted_text("a\u00ad\u200b\u200e\u200f\u2060\ufeffb\r\n\t")
