"""Reads of the working calendar: the exceptions as one small map, cached per process, and the years still
waiting for someone to confirm them."""

import uuid
from datetime import date, timedelta
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.core.dates import COMPANY_TZ

from .models import CalendarException, CalendarYear

VERSION_CACHE_KEY = "calendars:exceptions:version"
CONFIRM_AHEAD_DAYS = 60

# The exceptions as this process last read them: {day: is a working day}, the version they were read at, and
# until when (time.monotonic()) they may be used without asking the cache whether they changed.
_local: dict = {"version": None, "days": {}, "until": 0.0}


def calendar_exceptions() -> tuple[str, dict[date, bool]]:
    """Return (version, {day: whether it is a working day}) of the calendar exceptions.

    Each process keeps what it read; after CALENDAR_LOCAL_SECONDS it asks the cache for the version (one
    cache read) and reads the table again only when an exception changed since. A change sets a new version
    (calendar_exceptions_changed), so every process sees it within CALENDAR_LOCAL_SECONDS.
    """
    now = monotonic()
    # Within the window only: a clock that jumped (as tests' time travel does) never makes a copy last.
    if 0 < _local["until"] - now <= settings.CALENDAR_LOCAL_SECONDS:
        return _local["version"], _local["days"]
    version = cache.get(VERSION_CACHE_KEY)
    if version is None:
        cache.add(VERSION_CACHE_KEY, uuid.uuid4().hex, timeout=None)
        # Unreachable cache: a version of our own makes this process read the table once more now.
        version = cache.get(VERSION_CACHE_KEY) or uuid.uuid4().hex
    if version != _local["version"]:
        rows = CalendarException.objects.values_list("day", "kind")
        _local["days"] = {day: kind == CalendarException.Kind.WORKING_DAY for day, kind in rows}
        _local["version"] = version
    _local["until"] = now + max(settings.CALENDAR_LOCAL_SECONDS, 0)
    return _local["version"], _local["days"]


def calendar_exceptions_changed() -> None:
    """Make every process read the exceptions again: a new version in the cache, and this process at once."""
    cache.set(VERSION_CACHE_KEY, uuid.uuid4().hex, timeout=None)
    _local["until"] = 0.0


def calendar_years_unconfirmed(*, today: date | None = None, days: int = CONFIRM_AHEAD_DAYS) -> list[int]:
    """Return the years the next `days` days fall in whose official calendar nobody has confirmed."""
    today = today or timezone.now().astimezone(COMPANY_TZ).date()
    years = list(range(today.year, (today + timedelta(days=days)).year + 1))
    confirmed = set(CalendarYear.objects.filter(year__in=years).values_list("year", flat=True))
    return [year for year in years if year not in confirmed]


def admin_dashboard_block(request) -> dict | None:
    """A warning on the admin index while the coming CONFIRM_AHEAD_DAYS days fall in an unconfirmed year,
    for staff who may see the calendar."""
    if not request.user.has_perm("calendars.view_calendarexception"):
        return None
    years = calendar_years_unconfirmed()
    if not years:
        return None
    return {
        "template": "calendars/admin/dashboard_block.html",
        "context": {
            "years": years,
            "days": CONFIRM_AHEAD_DAYS,
            "can_confirm": request.user.has_perm("calendars.add_calendaryear"),
            "confirm_url": reverse("admin:calendars_calendaryear_add") + f"?year={years[0]}",
            "exceptions_url": reverse("admin:calendars_calendarexception_changelist"),
        },
    }
