"""Kazakh working days: weekends, public holidays and the statutory moves from the `holidays` package,
corrected by the calendar exceptions the privacy officer keeps (government transfers, days the package
lacks or only estimates).

A term of N working days starts on the working day after the event and ends at 24:00 Almaty of the Nth
working day, that is at 00:00 of the next calendar day.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.conf import settings

from apps.core.dates import COMPANY_TZ

from .selectors import calendar_exceptions


@lru_cache(maxsize=1)
def _package_calendar() -> holidays.HolidayBase:
    return holidays.country_holidays(getattr(settings, "WITHDRAWAL_HOLIDAYS_COUNTRY", "KZ"))


def package_is_working_day(day: date) -> bool:
    """Return what the `holidays` package alone says: whether `day` is a working day."""
    return _package_calendar().is_working_day(day)


def _is_working(day: date, exceptions: dict[date, bool]) -> bool:
    found = exceptions.get(day)
    return package_is_working_day(day) if found is None else found


def is_working_day(day: date) -> bool:
    """Return whether `day` is a working day in Kazakhstan (a transferred working Saturday counts)."""
    return _is_working(day, calendar_exceptions()[1])


def local_date(moment: datetime) -> date:
    return moment.astimezone(COMPANY_TZ).date()


@lru_cache(maxsize=4096)
def _working_day_after(day: date, count: int, version: str) -> date:
    exceptions = calendar_exceptions()[1]
    current = day
    found = 0
    while found < count:
        current += timedelta(days=1)
        if _is_working(current, exceptions):
            found += 1
    return current


def working_day_after(day: date, count: int) -> date:
    """Return the `count`-th working day after `day` (`day` itself is never counted)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    # Remembered per version of the exceptions: a change to the calendar is a new key.
    return _working_day_after(day, count, calendar_exceptions()[0])


def end_of_day(day: date) -> datetime:
    """Return 24:00 Almaty of `day`, i.e. 00:00 of the next day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=COMPANY_TZ)


def last_counted_day(due_at: datetime) -> date:
    """Return the working day a term ending at `due_at` (an end-of-day moment) ends on."""
    return local_date(due_at) - timedelta(days=1)


def due_at_after(moment: datetime, working_days: int) -> datetime:
    """Return the end of a term of `working_days` counted from the working day after `moment`."""
    return end_of_day(working_day_after(local_date(moment), working_days))


def due_at_extended(due_at: datetime, working_days: int) -> datetime:
    """Return `due_at` moved later by `working_days` working days."""
    if working_days <= 0:
        return due_at
    return end_of_day(working_day_after(last_counted_day(due_at), working_days))


def working_days_between(start: datetime, end: datetime) -> int:
    """Count the working days after the day of `start` up to and including the day of `end`."""
    exceptions = calendar_exceptions()[1]
    first, last = local_date(start), local_date(end)
    count = 0
    current = first
    while current < last:
        current += timedelta(days=1)
        if _is_working(current, exceptions):
            count += 1
    return count


def working_days_left(due_at: datetime, now: datetime) -> int:
    """Count the working days from today (included) to the end of the term; 0 once it has passed."""
    if now >= due_at:
        return 0
    exceptions = calendar_exceptions()[1]
    today, last = local_date(now), last_counted_day(due_at)
    count = 0
    current = today
    while current <= last:
        if _is_working(current, exceptions):
            count += 1
        current += timedelta(days=1)
    return count


def due_soon_cutoff(now: datetime, working_days: int) -> datetime:
    """Return the latest due moment that leaves at most `working_days` working days from today."""
    today = local_date(now)
    start = today - timedelta(days=1)
    return end_of_day(working_day_after(start, working_days))
