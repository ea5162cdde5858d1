"""Proof for the regulator, on both databases: a member downloads their signed consent record and checks it
on the verifier page; the Privacy officer records a breach, notifies the authority and tells the people."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.acceptances.models import Acceptance
from apps.breaches import tasks as breach_tasks
from apps.breaches.models import Breach
from apps.notifications.models import OutboxEmail
from apps.records.signing import record_verify
from tests.roles.conftest import member

from .support import sign_up

pytestmark = pytest.mark.django_db(transaction=True)


def test_member_downloads_a_signed_record_and_the_verifier_says_genuine_or_changed(policy_in_force, tmp_path):
    visitor, user = sign_up("aigul@example.kz", full_name="Aigul Seitkali")
    acceptance = Acceptance.objects.get(user=user)
    mine = visitor.get("/privacy/me/")
    assert mine.links("/privacy/me/records/") == [
        "/privacy/me/records/",
        f"/privacy/me/records/{acceptance.pk}/",
    ]

    download = visitor.client.get(f"/privacy/me/records/{acceptance.pk}/")
    assert download.status_code == 200
    record = json.loads(download.content)
    assert record["dpv:hasIndicationMethod"]["alilo:method"] == "signup" and record_verify(record).valid
    path = tmp_path / "record.json"
    path.write_bytes(download.content)
    call_command("verify_consent_record", str(path))

    def drop(content: bytes) -> str:
        """Choose the file on the verifier page and send it, as the browser does."""
        page = visitor.get("/privacy/records/verify/")
        assert 'type="file"' in page.form(has='name="record"').html
        token = visitor.client.cookies["csrftoken"].value
        response = visitor.client.post(
            "/privacy/records/verify/",
            {
                "csrfmiddlewaretoken": token,
                "record": SimpleUploadedFile("record.json", content, "application/json"),
            },
        )
        assert response.status_code == 200
        return response.content.decode()

    assert 'data-verify-result="valid"' in drop(download.content)
    record["dpv:hasNotice"]["dct:hasVersion"] = 2
    changed = drop(json.dumps(record).encode())
    assert 'data-verify-result="invalid"' in changed and "changed after it was signed" in changed
    assert visitor.client.get("/.well-known/jwks.json").json()["keys"][0]["kid"] == record["proof"]["kid"]


def test_officer_records_a_breach_notifies_the_authority_and_tells_the_people(policy_in_force):
    _visitor, customer = sign_up("aigul@example.kz", full_name="Aigul Seitkali", language="ru")
    officer = member("Privacy officer", email="officer@alilo.kz")
    staff = Client()
    staff.force_login(officer)
    found = timezone.localtime() - timedelta(hours=1)
    response = staff.post(
        reverse("admin:breaches_breach_add"),
        {
            "discovered_at": found.strftime("%Y-%m-%dT%H:%M"),
            "description": "An export was sent to the wrong partner.",
            "data_categories": "Names and emails",
            "people_affected": "1",
            "measures": "The partner deleted it.",
        },
    )
    assert response.status_code == 302
    breach = Breach.objects.get()
    assert OutboxEmail.objects.filter(template="breach_recorded").count() == 1
    assert breach.reference in staff.get(reverse("admin:index")).content.decode()

    staff.post(
        reverse("admin:breaches_breach_step", args=[breach.pk, "authority"]),
        {
            "notified_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "method": "letter",
            "reference": "01-15/77",
            "letter": SimpleUploadedFile("letter.pdf", b"%PDF-1.4", "application/pdf"),
        },
    )
    breach.refresh_from_db()
    assert breach.status == "notified" and breach.letter.size == 8
    staff.post(
        reverse("admin:breaches_breach_step", args=[breach.pk, "notice"]),
        {
            "audience": "ids",
            "user_ids_text": f"{customer.pk}",
            "subject_kk": "Хабарлама",
            "body_kk": "Мәтін",
            "subject_ru": "Уведомление",
            "body_ru": "Текст",
        },
    )
    notice = breach.notices.get()
    breach_tasks.breach_notice_send(notice.pk)
    breach_tasks.breach_notice_send(notice.pk)
    sent = OutboxEmail.objects.filter(topic="breach.notice", object_id=notice.pk)
    assert list(sent.values_list("to", "language")) == [("aigul@example.kz", "ru")]
    page = staff.get(reverse("admin:breaches_breach_change", args=[breach.pk])).content.decode()
    assert "Уведомление" in page
    staff.post(reverse("admin:breaches_breach_step", args=[breach.pk, "close"]))
    assert Breach.objects.get().status == "closed"
