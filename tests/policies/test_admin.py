from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.policies.models import PolicyVersion
from apps.policies.services import policy_announcement_fanout
from tests.accounts.factories import StaffFactory, UserFactory
from tests.policies.factories import PolicyVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = StaffFactory(language="en")  # the admin in English: the assertions read the source strings
    client.force_login(staff)
    client.staff = staff
    return client


def text_forms(texts, initial=0, ids=()):
    data = {
        "texts-TOTAL_FORMS": str(len(texts)),
        "texts-INITIAL_FORMS": str(initial),
        "texts-MIN_NUM_FORMS": "0",
        "texts-MAX_NUM_FORMS": "3",
    }
    for index, (language, title, summary, body) in enumerate(texts):
        data.update(
            {
                f"texts-{index}-language": language,
                f"texts-{index}-title": title,
                f"texts-{index}-summary": summary,
                f"texts-{index}-body": body,
            }
        )
        if index < len(ids):
            data[f"texts-{index}-id"] = str(ids[index])
            data[f"texts-{index}-version"] = ""
    return data


def test_staff_write_a_draft_with_texts_through_the_services(staff_client):
    response = staff_client.post(
        reverse("admin:policies_policyversion_add"),
        {
            "number": "3",
            **text_forms(
                [("kk", "Саясат", "Қысқаша", "1. A\r\n\r\n1.1. B"), ("en", "Policy", "Short", "1. A")]
            ),
            "_continue": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    version = PolicyVersion.objects.get(number=3)
    assert version.status == "draft"
    kk = version.texts.get(language="kk")
    assert kk.body == "1. A\n\n1.1. B" and len(kk.body_sha256) == 64
    assert AuditEvent.objects.filter(action="policy.text_create", actor=staff_client.staff).count() == 2
    assert AuditEvent.objects.filter(action="policy.draft_create").exists()


def test_add_form_suggests_the_next_number(staff_client):
    PolicyVersionFactory(number=4)
    page = staff_client.get(reverse("admin:policies_policyversion_add")).content.decode()
    assert 'value="5"' in page


def test_published_versions_are_read_only_and_cannot_be_deleted(staff_client):
    version = PolicyVersionFactory(published=True)
    change_url = reverse("admin:policies_policyversion_change", args=[version.pk])
    page = staff_client.get(change_url)
    assert page.status_code == 200
    assert 'name="number"' not in page.content.decode()
    assert 'name="texts-0-body"' not in page.content.decode()
    text = version.texts.get(language="kk")
    response = staff_client.post(
        change_url, {"number": "77", **text_forms([("kk", "x", "x", "changed")], initial=1, ids=[text.pk])}
    )
    assert response.status_code == 403
    delete = staff_client.post(
        reverse("admin:policies_policyversion_delete", args=[version.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    version.refresh_from_db()
    assert version.number != 77
    assert version.texts.get(language="kk").body == text.body


def test_drafts_can_be_deleted(staff_client):
    draft = PolicyVersionFactory()
    staff_client.post(reverse("admin:policies_policyversion_delete", args=[draft.pk]), {"post": "yes"})
    assert not PolicyVersion.objects.filter(pk=draft.pk).exists()
    assert AuditEvent.objects.filter(action="policy.draft_delete").exists()


def test_preview_uses_the_public_page_and_escapes(staff_client):
    draft = PolicyVersionFactory(texts=["kk", "en"])
    draft.texts.filter(language="en").update(body="1. <b>Bold</b>\n\n2.6. Withdraw.")
    url = reverse("admin:policies_policyversion_preview", args=[draft.pk])
    page = staff_client.get(url + "?language=en").content.decode()
    assert "Preview of draft version" in page
    assert 'id="2.6"' in page
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page
    assert 'class="site-header"' in page  # the public layout, not the admin's
    fallback = staff_client.get(url + "?language=ru").content.decode()
    assert "поэтому показан казахский текст" in fallback  # the notice in the reader's language


def test_diff_against_the_current_version(staff_client):
    PolicyVersionFactory(published=True, number=1)
    draft = PolicyVersionFactory(number=2)
    page = staff_client.get(
        reverse("admin:policies_policyversion_diff", args=[draft.pk]) + "?language=en"
    ).content.decode()
    assert "<del>1.</del>" in page or "<del>" in page
    assert "<ins>" in page
    assert "Changes from version 1 to version 2" in page


def test_publish_confirmation_states_deadline_and_recipients_then_publishes(staff_client, settings):
    settings.IMPLICIT_ACCEPTANCE_DAYS = 7
    past = timezone.now() - timedelta(days=3)
    UserFactory(date_joined=past)
    UserFactory(date_joined=past)
    UserFactory(agreement_status="ended", agreement_ended_at=past)
    draft = PolicyVersionFactory(number=2)
    url = reverse("admin:policies_policyversion_publish", args=[draft.pk])
    page = staff_client.get(url).content.decode()
    assert "3 users with an active agreement will be told" in page  # two users and the staff member
    assert "Continued use will count as acceptance from" in page
    response = staff_client.post(url, {"confirm": "1"}, follow=True)
    assert "is published" in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_published and draft.published_by == staff_client.staff
    again = staff_client.post(url, {"confirm": "1"}, follow=True)
    assert "published already" in again.content.decode()


def test_publish_page_explains_what_blocks_publication(staff_client):
    PolicyVersionFactory(published=True, number=5)
    draft = PolicyVersionFactory(number=4, texts=["en"])
    page = staff_client.get(reverse("admin:policies_policyversion_publish", args=[draft.pk])).content.decode()
    assert "use a higher number" in page
    assert "Kazakh text" in page
    assert 'name="confirm"' not in page


def test_change_page_shows_announcement_progress(staff_client):
    UserFactory(date_joined=timezone.now() - timedelta(days=1))
    UserFactory(date_joined=timezone.now() - timedelta(days=1))
    version = PolicyVersionFactory(published=True)
    policy_announcement_fanout(version=version)
    OutboxEmail.objects.filter(pk=OutboxEmail.objects.order_by("id").first().pk).update(status="sent")
    page = staff_client.get(
        reverse("admin:policies_policyversion_change", args=[version.pk])
    ).content.decode()
    assert "2 / 1 / 0 — of 3" in page


def test_non_staff_cannot_reach_the_admin_pages(client):
    client.force_login(UserFactory())
    draft = PolicyVersionFactory()
    response = client.post(reverse("admin:policies_policyversion_publish", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert not draft.is_published


def test_draft_change_page_offers_preview_diff_and_publish_and_saves_edits(staff_client):
    draft = PolicyVersionFactory(number=2, texts=["kk"])
    url = reverse("admin:policies_policyversion_change", args=[draft.pk])
    page = staff_client.get(url).content.decode()
    for name in ("preview", "diff", "publish"):
        assert reverse(f"admin:policies_policyversion_{name}", args=[draft.pk]) in page
    text = draft.texts.get()
    response = staff_client.post(
        url, {"number": "2", **text_forms([("kk", "Жаңа", "Қысқа", "1. Өзгерді")], initial=1, ids=[text.pk])}
    )
    assert response.status_code == 302
    text.refresh_from_db()
    assert (text.title, text.body) == ("Жаңа", "1. Өзгерді")
    assert AuditEvent.objects.filter(action="policy.text_update").exists()
    assert staff_client.get(reverse("admin:policies_policyversion_changelist")).status_code == 200
