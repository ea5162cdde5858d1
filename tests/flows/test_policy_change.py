"""A new policy version (clause 1.2): published in the admin, announced, reminded, then accepted by the button
or by continued use."""

from datetime import timedelta

import pytest

from apps.acceptances.models import Acceptance
from apps.acceptances.tasks import implicit_sweep, send_reminders
from apps.accounts.roles import POLICY_EDITOR
from apps.audit.models import AuditEvent
from apps.policies.models import PolicyVersion
from apps.policies.selectors import implicit_acceptance_deadline
from apps.policies.tasks import policy_announce
from tests.roles.conftest import member

from .support import (
    PASSWORD,
    Visitor,
    deliver_emails,
    emails_to,
    link_in,
    log_in_member,
    publish_version,
    the_email,
    travel,
)

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = "/admin/policies/policyversion/"
BANNER = "Our privacy policy has changed"


def test_editor_publishes_a_version_every_member_is_told_and_reminded_before_the_deadline(policy_in_force):
    alice, alice_user = log_in_member("alice@example.kz", full_name="Alice Akhmetova")
    _bob, bob_user = log_in_member("bob@example.kz", full_name="Bob Bekov", language="ru")
    editor = member(POLICY_EDITOR, email="editor@alilo.kz", full_name="Policy Editor", password=PASSWORD)
    staff = Visitor()
    staff.log_in(editor.email, path="/admin/login/")

    draft = staff.get(f"{ADMIN}add/")
    assert 'value="2"' in draft.form(has='name="number"').html  # the next free number is offered
    texts = {
        "texts-TOTAL_FORMS": "2",
        "texts-0-language": "kk",
        "texts-0-title": "Құпиялылық саясаты",
        "texts-0-summary": "2.1-тармақ өзгерді.",
        "texts-0-body": "1. Жалпы ережелер.\r\n\r\n2.1. Жеткізу үшін деректер.",
        "texts-1-language": "en",
        "texts-1-title": "Privacy policy",
        "texts-1-summary": "Clause 2.1 now covers deliveries.",
        "texts-1-body": "1. General provisions.\r\n\r\n2.1. Data for deliveries.",
    }
    page = staff.submit(draft, has='name="number"', button=("_continue", "1"), number="2", **texts)
    version = PolicyVersion.objects.get(number=2)
    assert version.status == "draft" and sorted(version.texts.values_list("language", flat=True)) == [
        "en",
        "kk",
    ]
    publish = f"{ADMIN}{version.pk}/publish/"
    assert publish in page.links(publish)

    confirm = staff.get(publish)
    assert "3 users with an active agreement will be told by email." in confirm  # Alice, Bob, the editor
    assert "Continued use will count as acceptance from" in confirm
    page = staff.submit(confirm, has='name="confirm"', button=("confirm", "Yes, publish it"))
    assert "Version 2 is published; the announcement is on its way." in page
    version.refresh_from_db()
    assert version.is_published and version.published_by == editor
    assert version.implicit_acceptance_at == implicit_acceptance_deadline(
        published_at=version.published_at, days=7
    )
    assert AuditEvent.objects.filter(action="policy.publish", target_id=str(version.pk)).count() == 1
    assert send_reminders()["status"] == "not-due"

    assert policy_announce(version.pk) == 3
    assert policy_announce(version.pk) == 0  # a redelivered task writes nothing twice
    sent = deliver_emails()
    assert len(sent) == 3
    to_alice = the_email("alice@example.kz", sent, subject="Alilo has updated its privacy policy (version 2)")
    assert "Clause 2.1 now covers deliveries." in to_alice.body
    to_bob = emails_to("bob@example.kz", sent)[0]
    assert to_bob.extra_headers["Content-Language"] == "ru" and "2.1" in to_bob.body
    accept_link = link_in(to_alice, "/privacy/accept/2/")

    page = alice.get(accept_link)
    assert "Privacy policy" in page and "Clause 2.1 now covers deliveries." in page
    page = alice.submit(page, has="accept-form")
    assert "Thank you. You accepted version 2." in page
    assert Acceptance.objects.get(version=version, user=alice_user).method == "explicit"

    with travel(version.implicit_acceptance_at - timedelta(hours=36)):
        result = send_reminders()
        assert result["status"] == "queued" and result["result"] == 2
        assert send_reminders()["result"] == 0  # reminded once per version
        sent = deliver_emails()
        assert sorted(address for message in sent for address in message.to) == [
            "bob@example.kz",
            "editor@alilo.kz",
        ]
        reminder = the_email("editor@alilo.kz", sent, subject="is waiting for your acceptance")
        assert link_in(reminder, "/privacy/accept/2/") == accept_link
        assert emails_to("bob@example.kz", sent)[0].extra_headers["Content-Language"] == "ru"
    assert not Acceptance.objects.filter(version=version, user=bob_user).exists()


def test_use_after_the_deadline_becomes_an_implicit_acceptance_with_the_use_as_evidence(policy_in_force):
    carol, carol_user = log_in_member("carol@example.kz", full_name="Carol Dzhaksybekova")
    dave, dave_user = log_in_member("dave@example.kz", full_name="Dave Omarov")
    version = publish_version(2, summary="Clause 2.1 now covers deliveries")
    assert f"{BANNER}: version 2" in carol.get("/") and "If you keep using the service from" in carol.get("/")
    assert f"{BANNER}: version 2" in dave.get("/")
    assert implicit_sweep()["status"] == "before-deadline"

    with travel(version.implicit_acceptance_at + timedelta(hours=2)):
        home = carol.get("/")
        assert "your continued use of the service has counted as acceptance" in home
        carol_user.refresh_from_db()
        assert carol_user.last_used_at >= version.implicit_acceptance_at
        result = implicit_sweep()
        assert (result["status"], result["created"]) == ("swept", 1)
        assert implicit_sweep()["created"] == 0

        acceptance = Acceptance.objects.get(version=version)
        assert (acceptance.user, acceptance.method, acceptance.channel) == (carol_user, "implicit", "web")
        assert acceptance.used_at == acceptance.accepted_at == carol_user.last_used_at
        assert acceptance.use_source == "web" and acceptance.use_report is None
        assert acceptance.email_verified is True  # members from log_in_member confirmed their address
        english = version.texts.get(language="en")
        assert (acceptance.language, acceptance.text_sha256) == ("en", english.body_sha256)
        assert AuditEvent.objects.filter(
            action="acceptance.implicit_sweep", target_id=str(version.pk)
        ).exists()
        assert not Acceptance.objects.filter(version=version, user=dave_user).exists()  # used only before

        mine = carol.get("/privacy/me/")
        assert "Continued use after the deadline" in mine and "Use recorded at" in mine
        receipt = carol.get(f"/privacy/me/receipt/{acceptance.pk}/")
        assert "Use that counted as acceptance" in receipt and english.body_sha256 in receipt
    with travel(version.implicit_acceptance_at + timedelta(hours=3)):
        assert BANNER not in carol.get("/")  # the answer is rechecked and found
