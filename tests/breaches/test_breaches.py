"""The breach register: the 1-working-day deadline (Kazakh calendar, Almaty), the mailbox alerts, the steps
and their audit, immutability once closed, and the notice to the people affected sent once to each."""

from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.breaches import services
from apps.breaches.models import Breach, BreachAmendment, BreachNotice
from apps.calendars.working_days import COMPANY_TZ
from apps.notifications.models import OutboxEmail
from tests.accounts.factories import StaffFactory, UserFactory
from tests.calendars.factories import CalendarExceptionFactory
from tests.roles.conftest import member

pytestmark = pytest.mark.django_db


def almaty(*args) -> datetime:
    return datetime(*args, tzinfo=COMPANY_TZ)


def record(actor, *, discovered_at=None, people=12) -> Breach:
    return services.breach_record(
        actor=actor,
        discovered_at=discovered_at or almaty(2025, 12, 15, 10, 0),
        description="A laptop with a customer export was stolen.",
        data_categories="Names, emails, phone numbers",
        people_affected=people,
        measures="Passwords reset; the export revoked.",
        ip="192.0.2.9",
    )


@pytest.fixture
def officer(db):
    return member("Privacy officer", email="officer@alilo.kz")


def test_a_breach_found_on_friday_is_due_at_the_end_of_monday(officer):
    breach = record(officer, discovered_at=almaty(2025, 12, 12, 16, 30))  # Friday
    assert breach.notify_due_at == almaty(2025, 12, 16, 0, 0)  # 24:00 Monday 15 December


def test_a_breach_found_on_saturday_is_due_at_the_end_of_monday(officer):
    breach = record(officer, discovered_at=almaty(2025, 12, 13, 9, 0))
    assert breach.notify_due_at == almaty(2025, 12, 16, 0, 0)


def test_a_public_holiday_is_skipped(officer):
    # Tuesday 16 December 2025 is Independence Day: a breach found on Monday is due by the end of Wednesday.
    breach = record(officer, discovered_at=almaty(2025, 12, 15, 23, 50))
    assert breach.notify_due_at == almaty(2025, 12, 18, 0, 0)


def test_a_day_off_the_officer_added_to_the_calendar_is_skipped(officer):
    CalendarExceptionFactory(day=almaty(2025, 12, 17).date())
    breach = record(officer, discovered_at=almaty(2025, 12, 15, 10, 0))
    assert breach.notify_due_at == almaty(2025, 12, 19, 0, 0)


def test_recording_emails_the_privacy_mailbox_at_once_and_is_audited(officer, settings):
    breach = record(officer)
    assert breach.reference == f"BR-2025-{breach.pk:04d}"
    alert = OutboxEmail.objects.get(template="breach_recorded")
    assert alert.to == settings.PRIVACY_MAILBOX and alert.context["reference"] == breach.reference
    event = AuditEvent.objects.get(action="breach.record")
    assert event.actor == officer and event.ip == "192.0.2.9" and event.target_id == str(breach.pk)


def test_a_discovery_in_the_future_is_refused_and_nothing_is_saved(officer):
    with pytest.raises(ValidationError):
        record(officer, discovered_at=almaty(2999, 1, 1, 0, 0))
    assert not Breach.objects.exists() and not OutboxEmail.objects.exists()


def test_the_daily_digest_flags_breaches_not_yet_notified_and_overdue(officer):
    late = record(officer, discovered_at=almaty(2025, 12, 12, 16, 30))
    email = services.breach_digest_send(now=almaty(2025, 12, 16, 9, 5))
    assert email.template == "breach_digest"
    assert email.context["rows"][0]["reference"] == late.reference and email.context["rows"][0]["overdue"]
    assert services.breach_digest_send(now=almaty(2025, 12, 16, 9, 6)) is None  # once a day
    services.breach_authority_notify(
        breach=late, actor=officer, notified_at=almaty(2025, 12, 16, 10, 0), method="email"
    )
    assert services.breach_digest_send(now=almaty(2025, 12, 17, 9, 5)) is None


def test_notify_close_and_amend_each_audited_and_a_closed_breach_changes_only_by_amendment(officer):
    breach = record(officer)
    letter = SimpleUploadedFile("letter.pdf", b"%PDF-1.4 letter", "application/pdf")
    services.breach_authority_notify(
        breach=breach,
        actor=officer,
        notified_at=almaty(2025, 12, 15, 15, 0),
        method="portal",
        reference="ИС-2025-77",
        letter=letter,
    )
    with pytest.raises(services.BreachError):
        services.breach_authority_notify(
            breach=breach, actor=officer, notified_at=almaty(2025, 12, 15, 16, 0), method="email"
        )
    services.breach_close(breach=breach, actor=officer)
    with pytest.raises(services.BreachError):
        services.breach_update(breach=breach, actor=officer, changes={"people_affected": 1})
    with pytest.raises(ValidationError):
        services.breach_amend(breach=breach, actor=officer, field="people_affected", value=40, reason=" ")

    services.breach_amend(
        breach=breach, actor=officer, field="people_affected", value=40, reason="The log showed more."
    )

    breach.refresh_from_db()
    assert breach.people_affected == 40 and breach.letter.file_name == "letter.pdf"
    amendment = BreachAmendment.objects.get()
    assert (amendment.old_value, amendment.new_value, amendment.actor) == ("12", "40", officer)
    events = AuditEvent.objects.filter(target_id=str(breach.pk)).order_by("pk")
    actions = list(events.values_list("action", flat=True))
    assert actions == ["breach.record", "breach.authority_notify", "breach.close", "breach.amend"]


def _notice(officer, breach, **kwargs) -> BreachNotice:
    data = {
        "audience": "all",
        "subject_kk": "Деректердің қауіпсіздігі бұзылды",
        "body_kk": "Құрметті клиент, ...",
        "subject_ru": "Нарушение безопасности данных",
        "body_ru": "Уважаемый клиент, ...",
        **kwargs,
    }
    return services.breach_notice_create(breach=breach, actor=officer, **data)


def test_the_notice_interrupted_midway_resumes_and_reaches_each_person_once(officer, monkeypatch):
    users = [UserFactory(language=("ru" if n % 2 else "kk")) for n in range(7)]
    breach = record(officer)
    notice = _notice(officer, breach)
    calls = {"n": 0}
    real = services.outbox_fanout

    def dies_on_the_third_range(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(services, "outbox_fanout", dies_on_the_third_range)
    with pytest.raises(SystemExit):
        services.breach_notice_fanout(notice=notice, chunk_ids=2)
    notice.refresh_from_db()
    assert notice.finished_at is None and notice.cursor > 0
    written_before = OutboxEmail.objects.filter(topic="breach.notice").count()
    assert 0 < written_before < len(users) + 1

    monkeypatch.setattr(services, "outbox_fanout", real)
    notice.cursor = 0  # even a rerun from the start (the range in flight redone) writes nobody twice
    services.breach_notice_fanout(notice=notice, chunk_ids=2)
    services.breach_notice_fanout(notice=notice, chunk_ids=2)

    emails = OutboxEmail.objects.filter(topic="breach.notice", object_id=notice.pk)
    recipients = sorted(emails.values_list("user_id", flat=True))
    assert recipients == sorted([user.pk for user in users] + [officer.pk])
    russian = emails.get(user=users[1])
    assert russian.context["subject"] == "Нарушение безопасности данных"
    assert emails.get(user=users[0]).context["subject"] == "Деректердің қауіпсіздігі бұзылды"
    notice.refresh_from_db()
    assert notice.finished_at is not None and notice.written == len(recipients)


def test_a_notice_to_everyone_reaches_a_person_whose_data_is_blocked_too(officer):
    """A breach notice is owed to the person; blocking stops processing for a purpose, not this."""
    blocked = UserFactory(blocked_at=timezone.now(), blocked_reference="BR-2026-000001")
    ended = UserFactory(agreement_status="ended", agreement_ended_at=timezone.now())
    notice = _notice(officer, record(officer))
    services.breach_notice_fanout(notice=notice)
    told = set(OutboxEmail.objects.filter(topic="breach.notice").values_list("user_id", flat=True))
    assert blocked.pk in told and ended.pk not in told


def test_a_notice_to_a_list_of_ids_reaches_only_them(officer):
    chosen, other = UserFactory(), UserFactory()
    breach = record(officer)
    notice = _notice(officer, breach, audience="ids", user_ids=[chosen.pk, chosen.pk, 999999])
    services.breach_notice_fanout(notice=notice)
    assert list(OutboxEmail.objects.filter(topic="breach.notice").values_list("user_id", flat=True)) == [
        chosen.pk
    ]
    assert other.pk not in OutboxEmail.objects.values_list("user_id", flat=True)
    with pytest.raises(ValidationError):
        _notice(officer, breach, audience="ids", user_ids=[])


def test_the_dashboard_shows_the_countdown_to_the_officer(client, officer):
    breach = record(officer, discovered_at=almaty(2025, 12, 12, 16, 30))
    client.force_login(officer)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert breach.reference in page and 'data-countdown="overdue"' in page


def test_the_officer_records_a_breach_and_notifies_the_authority_in_the_admin(client, officer):
    client.force_login(officer)
    response = client.post(
        reverse("admin:breaches_breach_add"),
        {
            "discovered_at": "2025-12-15T10:00",
            "description": "Stolen laptop",
            "data_categories": "Emails",
            "people_affected": "3",
            "measures": "",
        },
    )
    assert response.status_code == 302
    breach = Breach.objects.get()
    assert breach.notify_due_at == almaty(2025, 12, 18, 0, 0)
    step = reverse("admin:breaches_breach_step", args=[breach.pk, "authority"])
    bad = client.post(step, {"notified_at": "2025-12-15T12:00", "method": "fax"})
    assert bad.status_code == 200 and Breach.objects.get().status == "open"
    done = client.post(
        step,
        {
            "notified_at": "2025-12-15T12:00",
            "method": "email",
            "reference": "77",
            "letter": SimpleUploadedFile("letter.exe", b"MZ", "application/x-msdownload"),
        },
    )
    assert done.status_code == 200 and "PDF, JPEG or PNG" in done.content.decode()
    assert Breach.objects.get().status == "open"
    client.post(step, {"notified_at": "2025-12-15T12:00", "method": "email"})
    assert Breach.objects.get().status == "notified"
    page = client.get(reverse("admin:breaches_breach_change", args=[breach.pk]))
    assert page.status_code == 200


def test_the_letter_to_the_authority_opens_only_for_those_who_may_see_breaches(client, officer):
    breach = record(officer)
    services.breach_authority_notify(
        breach=breach,
        actor=officer,
        notified_at=almaty(2025, 12, 15, 15, 0),
        method="portal",
        letter=SimpleUploadedFile("letter.pdf", b"%PDF-1.4 letter", "application/pdf"),
    )
    url = reverse("admin:breaches_breach_letter", args=[breach.pk])
    for role in ("Support", "Policy editor"):
        client.force_login(member(role, email=f"{role.split()[0].lower()}@alilo.kz"))
        assert client.get(url).status_code == 404
    client.force_login(officer)
    response = client.get(url)
    assert response.status_code == 200 and response.content == b"%PDF-1.4 letter"


def test_a_day_off_added_after_recording_moves_the_deadline_of_a_breach_not_yet_notified(officer):
    from apps.calendars.models import CalendarException
    from apps.calendars.services import calendar_exception_save

    breach = record(officer, discovered_at=almaty(2025, 12, 1, 10, 0))
    assert breach.notify_due_at == almaty(2025, 12, 3, 0, 0)  # the end of Tuesday 2 December
    calendar_exception_save(
        exception=CalendarException(day=date(2025, 12, 2), kind="day_off", source="Decree (test)"),
        actor=officer,
    )
    breach.refresh_from_db()
    assert breach.notify_due_at == almaty(2025, 12, 4, 0, 0)
    assert AuditEvent.objects.filter(action="breach.deadline_recompute", target_id=str(breach.pk)).exists()


def test_a_superuser_who_sees_the_amendments_inline_records_and_edits_a_breach(client):
    root = StaffFactory(email="root@alilo.kz", language="en")
    client.force_login(root)
    fields = {
        "discovered_at": "2025-12-15T10:00",
        "description": "Stolen laptop",
        "data_categories": "Emails",
        "people_affected": "3",
        "measures": "",
        "amendments-TOTAL_FORMS": "0",
        "amendments-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:breaches_breach_add"), fields)
    assert response.status_code == 302
    breach = Breach.objects.get()
    changed = client.post(
        reverse("admin:breaches_breach_change", args=[breach.pk]), {**fields, "people_affected": "5"}
    )
    assert changed.status_code == 302
    breach.refresh_from_db()
    assert breach.people_affected == 5
