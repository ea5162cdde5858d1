"""What staff and visitors read: the organisation's name per language, the audit log's labels and CSV, a new
policy version started from the text in force, the first version's banner, the home page's links."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from apps.audit.services import audit_event_record
from apps.notifications import services as outbox
from tests.acceptances.conftest import publish
from tests.accounts.factories import StaffFactory, UserFactory
from tests.roles.conftest import member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "name", "not_shown"),
    [
        ("kk", "«Talli Distribution» ЖШС (Alilo)", "ТОО"),  # noqa: RUF001
        ("ru", "ТОО «Talli Distribution» (Alilo)", "ЖШС"),  # noqa: RUF001
        ("en", "Talli Distribution LLP (Alilo)", "ЖШС"),
    ],
)
def test_emails_and_pages_name_the_organisation_in_their_language(client, language, name, not_shown):
    email = outbox.outbox_email_queue(
        to="a@example.kz",
        template="password_reset",
        context={"full_name": "Aigul", "reset_path": "/accounts/reset/x/y/"},
        language=language,
        dedup_key=f"org-{language}",
    )
    outbox.outbox_emails_deliver(email_ids=[email.pk])
    html = mail.outbox[-1].alternatives[0][0]
    assert name in html and not_shown not in html
    client.cookies["alilo_language"] = language
    page = client.get("/").content.decode()
    assert name in page and not_shown not in page


def test_audit_list_shows_readable_actions_and_the_csv_holds_json_and_almaty_time(client):
    officer = member("Privacy officer", email="officer@alilo.kz")
    with time_machine.travel(datetime(2026, 11, 29, 20, 30, tzinfo=UTC), tick=False):
        event = audit_event_record(
            actor=officer,
            action="withdrawal.view",
            target_type="withdrawals.withdrawalrequest",
            details={"number": 1},
        )
    client.force_login(officer)
    listing = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert "Request viewed" in listing and "request" in listing
    response = client.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "export_csv", "_selected_action": [event.pk]},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    header, row = rows[0], next(r for r in rows[1:] if "withdrawal.view" in r)
    assert header[0] == "time (Almaty)"
    assert row[0] == "2026-11-30 01:30:00"  # 20:30 UTC is 01:30 the next day in Almaty (UTC+5)
    assert row[header.index("action")] == "Request viewed"
    assert json.loads(row[header.index("details")]) == {"number": 1}


def test_a_new_policy_version_starts_from_the_text_in_force(client):
    version = publish(number=1)
    editor = member("Policy editor", email="editor@alilo.kz")
    client.force_login(editor)
    page = client.get(reverse("admin:policies_policyversion_add")).content.decode()
    for text in version.texts.all():
        assert text.body.split("\n")[0] in page
    assert page.count('name="texts-') > 0 and 'value="2"' in page


def test_the_first_version_banner_asks_to_accept_and_a_later_one_says_it_changed(client):
    user = UserFactory(language="en")
    client.force_login(user)
    publish(number=1)
    first = client.get("/").content.decode()
    assert "Please read and accept our privacy policy (version 1)" in first and "has changed" not in first
    publish(number=2)
    later = client.get("/").content.decode()
    assert "Our privacy policy has changed: version 2" in later


def test_home_page_my_privacy_card_has_a_link_signed_out_and_in(client):
    client.cookies["alilo_language"] = "en"
    page = client.get("/").content.decode()
    assert f'href="{reverse("acceptances:my_privacy")}"' in page
    client.force_login(StaffFactory())
    assert f'href="{reverse("acceptances:my_privacy")}"' in client.get("/").content.decode()
