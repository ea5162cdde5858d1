"""The working calendar the privacy officer keeps: the official 2026-2027 days, exceptions that change due
dates, the cached reads, and the warning about years nobody confirmed."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.calendars import selectors, services, working_days
from apps.calendars.models import CalendarException, CalendarYear
from tests.accounts.factories import UserFactory
from tests.roles.conftest import member

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, 0, tzinfo=ALMATY)


def midnight(year, month, day):
    return datetime(year, month, day, 0, 0, tzinfo=ALMATY)


def working_saturday(day: date, actor=None) -> CalendarException:
    return services.calendar_exception_save(
        exception=CalendarException(
            day=day, kind=CalendarException.Kind.WORKING_DAY, source="Government resolution (test)"
        ),
        actor=actor,
    )


# --- The official days shipped with the data migration -----------------------------------------------


def test_constitution_day_on_a_sunday_gives_monday_31_august_2026_off(shipped_calendar):
    assert working_days.package_is_working_day(date(2026, 8, 31))  # what the package alone says
    assert not working_days.is_working_day(date(2026, 8, 30))  # Sunday
    assert not working_days.is_working_day(date(2026, 8, 31))
    assert working_days.is_working_day(date(2026, 9, 1))
    # Registered on Friday 21 August: the term skips Monday 31 August and ends a working day later.
    assert working_days.due_at_after(at(2026, 8, 21), 15) == midnight(2026, 9, 15)


def test_kurban_ait_2026_is_a_day_off_whatever_the_package_estimates(shipped_calendar):
    row = CalendarException.objects.get(day=date(2026, 5, 27))
    assert row.kind == "day_off" and "QMDB" in row.source
    assert not working_days.is_working_day(date(2026, 5, 27))
    # Registered on Wednesday 20 May: 15 working days without 27 May end on Thursday 11 June.
    assert working_days.due_at_after(at(2026, 5, 20), 15) == midnight(2026, 6, 12)


def test_kurban_ait_2027_falls_on_a_sunday_and_monday_17_may_stays_a_working_day(shipped_calendar):
    row = CalendarException.objects.get(day=date(2027, 5, 16))
    assert "UNCERTAIN" in row.note and "17 May" in row.note
    assert not working_days.is_working_day(date(2027, 5, 16))
    assert working_days.is_working_day(date(2027, 5, 17))
    # Registered on Friday 7 May 2027 (10 May is Victory Day moved off the Sunday): ends on Monday 31 May.
    assert working_days.due_at_after(at(2027, 5, 7), 15) == midnight(2027, 6, 1)


def test_if_the_officer_moves_kurban_ait_2027_to_monday_the_term_grows_by_a_day(shipped_calendar):
    services.calendar_exception_save(
        exception=CalendarException(day=date(2027, 5, 17), kind="day_off", source="QMDB calendar 2027"),
    )
    assert working_days.due_at_after(at(2027, 5, 7), 15) == midnight(2027, 6, 2)


def test_constitution_day_2027_is_on_its_new_date(shipped_calendar):
    assert not working_days.is_working_day(date(2027, 3, 15))
    assert working_days.is_working_day(date(2027, 8, 30))


def test_every_shipped_day_names_its_source(shipped_calendar):
    rows = CalendarException.objects.filter(day__year__in=[2026, 2027])
    assert rows.count() >= 4
    assert all(row.source.strip() and row.note.strip() for row in rows)


# --- Exceptions change due dates ---------------------------------------------------------------------


def test_a_transferred_working_saturday_counts_and_shortens_the_term():
    saturday = date(2027, 1, 9)
    assert not working_days.is_working_day(saturday)
    assert working_days.due_at_after(at(2027, 1, 5), 15) == midnight(2027, 1, 28)

    working_saturday(saturday)

    assert working_days.is_working_day(saturday)
    assert working_days.due_at_after(at(2027, 1, 5), 15) == midnight(2027, 1, 27)
    assert working_days.working_days_between(at(2027, 1, 8), at(2027, 1, 11)) == 2


def test_deleting_an_exception_gives_the_day_back_to_the_package():
    exception = working_saturday(date(2027, 1, 9))
    services.calendar_exception_delete(exception=exception)
    assert not working_days.is_working_day(date(2027, 1, 9))
    assert AuditEvent.objects.filter(action="calendar.exception_delete").exists()


def test_an_exception_added_in_the_admin_changes_a_due_date_and_is_audited(client):
    officer = member("Privacy officer")
    client.force_login(officer)
    before = working_days.due_at_after(at(2027, 2, 1), 15)
    response = client.post(
        reverse("admin:calendars_calendarexception_add"),
        {
            "day": "2027-02-05",
            "kind": "day_off",
            "source": "Government resolution No. 999 (test)",
            "note": "A transferred day off",
        },
    )
    assert response.status_code == 302, response.content
    assert working_days.due_at_after(at(2027, 2, 1), 15) == midnight(2027, 2, 24) != before
    exception = CalendarException.objects.get(day=date(2027, 2, 5))
    assert exception.updated_by == officer
    event = AuditEvent.objects.get(action="calendar.exception_create")
    assert event.actor == officer and event.details["day"] == "2027-02-05"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"day": "1899-05-01", "kind": "day_off", "source": "x"}, "day"),
        ({"day": "not a date", "kind": "day_off", "source": "x"}, "day"),
        ({"day": "2027-02-05", "kind": "holiday", "source": "x"}, "kind"),
        ({"day": "2027-02-05", "kind": "day_off", "source": ""}, "source"),
    ],
)
def test_bad_input_in_the_admin_is_refused_with_a_message_and_saves_nothing(client, data, field):
    client.force_login(member("Privacy officer"))
    response = client.post(reverse("admin:calendars_calendarexception_add"), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not CalendarException.objects.filter(source="x").exists()
    assert not AuditEvent.objects.filter(action__startswith="calendar.").exists()


def test_a_second_exception_for_the_same_date_is_refused(client):
    working_saturday(date(2027, 1, 9))
    client.force_login(member("Privacy officer"))
    response = client.post(
        reverse("admin:calendars_calendarexception_add"),
        {"day": "2027-01-09", "kind": "day_off", "source": "y"},
    )
    assert response.status_code == 200 and "day" in response.context["adminform"].form.errors
    assert CalendarException.objects.get(day=date(2027, 1, 9)).kind == "working_day"


def test_the_service_refuses_a_date_out_of_range():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.calendar_exception_save(exception=CalendarException(day=date(1990, 1, 6), kind="day_off"))
    assert not CalendarException.objects.filter(day=date(1990, 1, 6)).exists()


# --- Reads stay cheap --------------------------------------------------------------------------------


def test_reads_reuse_the_exceptions_and_a_change_is_seen_at_once(settings, django_assert_num_queries):
    settings.CALENDAR_LOCAL_SECONDS = 3600
    selectors.calendar_exceptions_changed()
    working_days.is_working_day(date(2027, 1, 9))
    with django_assert_num_queries(0):
        for _ in range(3):
            assert not working_days.is_working_day(date(2027, 1, 9))
            working_days.due_at_after(at(2027, 1, 5), 15)
    working_saturday(date(2027, 1, 9))
    assert working_days.is_working_day(date(2027, 1, 9))


def test_another_process_sees_a_change_once_the_shared_version_moves(settings):
    settings.CALENDAR_LOCAL_SECONDS = 0
    working_days.is_working_day(date(2027, 1, 9))
    # Another process wrote the row and moved the version; this process's copy is then stale.
    CalendarException.objects.create(day=date(2027, 1, 9), kind="working_day", source="elsewhere")
    from django.core.cache import cache

    cache.set(selectors.VERSION_CACHE_KEY, "moved-by-another-process", timeout=None)
    assert working_days.is_working_day(date(2027, 1, 9))


# --- Confirming a year, and the warning on the admin index -------------------------------------------


def test_confirming_a_year_in_the_admin_records_who_and_when(client):
    officer = member("Privacy officer")
    client.force_login(officer)
    response = client.post(
        reverse("admin:calendars_calendaryear_add"),
        {"year": "2027", "reference": "Government resolution on transferred days off in 2027"},
    )
    assert response.status_code == 302
    confirmation = CalendarYear.objects.get(year=2027)
    assert confirmation.confirmed_by == officer and confirmation.confirmed_at is not None
    assert AuditEvent.objects.filter(action="calendar.year_confirm", actor=officer).exists()


def test_the_dashboard_warns_while_the_next_60_days_reach_an_unconfirmed_year(client):
    officer = member("Privacy officer")
    client.force_login(officer)
    with time_machine.travel(at(2026, 11, 29), tick=False):
        html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'id="dash-calendar"' in html and "2026, 2027" in html
        services.calendar_year_confirm(year=2026, reference="egov.kz 2026", actor=officer)
        html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'id="dash-calendar"' in html and "2027" in html and "2026," not in html
        services.calendar_year_confirm(year=2027, reference="egov.kz 2027", actor=officer)
        assert 'id="dash-calendar"' not in client.get("/admin/").content.decode()
    with time_machine.travel(at(2026, 6, 1), tick=False):
        assert selectors.calendar_years_unconfirmed() == []


@pytest.mark.parametrize("role", ["Policy editor", "Support"])
def test_roles_without_the_calendar_see_no_warning_and_cannot_edit_it(client, role):
    client.force_login(member(role))
    assert client.get(reverse("admin:calendars_calendarexception_add")).status_code == 403
    with time_machine.travel(at(2026, 11, 29), tick=False):
        client.force_login(member(role))
        assert 'id="dash-calendar"' not in client.get("/admin/").content.decode()


def test_an_officer_cannot_withdraw_a_confirmation_but_a_superuser_can(client):
    officer = member("Privacy officer")
    confirmation = services.calendar_year_confirm(year=2027, reference="egov.kz", actor=officer)
    client.force_login(officer)
    url = reverse("admin:calendars_calendaryear_delete", args=[confirmation.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not CalendarYear.objects.exists()
    assert AuditEvent.objects.filter(action="calendar.year_unconfirm", actor=root).exists()
