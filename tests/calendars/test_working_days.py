"""The legal term: 15 Kazakh working days from the working day after registration, to 24:00 Almaty."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from apps.calendars import working_days

ALMATY = ZoneInfo("Asia/Almaty")

# The terms read the calendar's exceptions (one small table) whenever the cache says they may have changed.
pytestmark = pytest.mark.django_db


def at(year, month, day, hour=12, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY)


def midnight(year, month, day):
    return datetime(year, month, day, 0, 0, tzinfo=ALMATY)


def test_calendar_knows_kazakh_holidays_and_transferred_days():
    assert not working_days.is_working_day(date(2026, 12, 16))  # Independence Day
    assert not working_days.is_working_day(date(2026, 3, 23))  # Nauryz
    assert not working_days.is_working_day(date(2025, 1, 3))  # day off moved from 5 January
    assert working_days.is_working_day(date(2025, 1, 5))  # the Sunday worked instead
    assert not working_days.is_working_day(date(2026, 11, 28))  # a plain Saturday
    assert working_days.is_working_day(date(2026, 11, 27))


def test_term_without_holidays_is_three_weeks():
    # Registered Monday 2 Nov 2026: counting starts Tuesday 3 Nov; 15th working day is Monday 23 Nov.
    assert working_days.due_at_after(at(2026, 11, 2), 15) == midnight(2026, 11, 24)


def test_term_skips_independence_day():
    # Registered Monday 30 Nov 2026: Dec 1-4, 7-11, 14, 15, 17, 18, 21, 22 (16 Dec is a holiday).
    assert working_days.due_at_after(at(2026, 11, 30), 15) == midnight(2026, 12, 23)


def test_term_skips_the_nauryz_week_and_womens_day():
    # Registered Friday 6 March 2026: 9 March (observed) and 23-25 March are days off.
    # Counted: Mar 10-13 (4), 16-20 (9), 26, 27 (11), 30, 31 (13), Apr 1, 2 (15).
    assert working_days.due_at_after(at(2026, 3, 6), 15) == midnight(2026, 4, 3)


def test_registration_late_in_the_evening_counts_by_almaty_date():
    # 23:30 Almaty on Friday 27 Nov is 18:30 UTC; the count starts Monday 30 Nov.
    late = datetime(2026, 11, 27, 18, 30, tzinfo=ZoneInfo("UTC"))
    assert working_days.due_at_after(late, 15) == midnight(2026, 12, 22)


def test_registration_on_a_weekend_starts_on_monday():
    assert working_days.due_at_after(at(2026, 11, 28), 1) == midnight(2026, 12, 1)
    assert working_days.due_at_after(at(2026, 11, 29), 1) == midnight(2026, 12, 1)


def test_term_is_configurable_in_working_days():
    assert working_days.due_at_after(at(2026, 11, 2), 5) == midnight(2026, 11, 10)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(2026, 12, 7), at(2026, 12, 7, 18), 0),  # answered the same day
        (at(2026, 12, 7), at(2026, 12, 9), 2),  # Tue, Wed
        (at(2026, 12, 11), at(2026, 12, 14), 1),  # Fri -> Mon: only Monday
        (at(2026, 12, 15), at(2026, 12, 18), 2),  # 16 Dec is a holiday: 17, 18
    ],
)
def test_working_days_between(start, end, expected):
    assert working_days.working_days_between(start, end) == expected


def test_extension_moves_the_end_by_working_days():
    # Term ends at the end of Tue 15 Dec; two more working days skip the holiday: 17, 18 Dec.
    assert working_days.due_at_extended(midnight(2026, 12, 16), 2) == midnight(2026, 12, 19)
    assert working_days.due_at_extended(midnight(2026, 12, 16), 0) == midnight(2026, 12, 16)


def test_working_days_left_counts_today_and_marks_the_end():
    due = midnight(2026, 12, 23)  # end of Tue 22 Dec
    assert working_days.working_days_left(due, at(2026, 12, 22, 9)) == 1
    assert working_days.working_days_left(due, at(2026, 12, 21, 9)) == 2
    assert working_days.working_days_left(due, at(2026, 12, 19, 9)) == 2  # Saturday
    assert working_days.working_days_left(due, midnight(2026, 12, 23)) == 0


def test_due_soon_cutoff_is_end_of_second_working_day():
    assert working_days.due_soon_cutoff(at(2026, 12, 14), 2) == midnight(2026, 12, 16)
    # From Tuesday 15 Dec the holiday is skipped: Tue 15, Thu 17.
    assert working_days.due_soon_cutoff(at(2026, 12, 15), 2) == midnight(2026, 12, 18)
