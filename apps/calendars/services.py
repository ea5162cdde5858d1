"""Writes of the working calendar: each change is audited and makes every process read the calendar again."""

from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record

from .models import FIRST_YEAR, LAST_YEAR, CalendarException, CalendarYear
from .selectors import calendar_exceptions_changed


def _staff(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _changed(*days: date, actor: Any = None) -> None:
    """Drop the cached exceptions now (this process, and the version every process checks) and once more
    after commit, so no process keeps what it read while the transaction was open; then let the apps that
    store terms count again those spanning the changed days (CALENDAR_CHANGE_RECEIVERS), in this
    transaction."""
    calendar_exceptions_changed()
    transaction.on_commit(calendar_exceptions_changed)
    for path in settings.CALENDAR_CHANGE_RECEIVERS:
        receiver = import_string(path)
        for day in sorted(set(days)):
            receiver(day=day, actor=_staff(actor))


def calendar_exception_save(*, exception: CalendarException, actor: Any = None) -> CalendarException:
    """Add or change one day of the calendar; return it."""
    exception.source = (exception.source or "").strip()
    exception.note = (exception.note or "").strip()
    exception.updated_by = _staff(actor)
    if exception.day is not None and not FIRST_YEAR <= exception.day.year <= LAST_YEAR:
        message = _("Give a date between %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}
        raise ValidationError({"day": message}, code="year")
    exception.full_clean()
    creating = exception.pk is None
    with transaction.atomic():
        before = (
            None
            if creating
            else CalendarException.objects.filter(pk=exception.pk).values("day", "kind", "source").first()
        )
        exception.save()
        details = {"day": exception.day.isoformat(), "kind": exception.kind, "source": exception.source}
        if before:
            details["before"] = {**before, "day": before["day"].isoformat()}
        audit_event_record(
            actor=actor,
            action="calendar.exception_create" if creating else "calendar.exception_update",
            target=exception,
            details=details,
        )
        _changed(exception.day, *([before["day"]] if before else []), actor=actor)
    return exception


def calendar_exception_delete(*, exception: CalendarException, actor: Any = None) -> None:
    """Remove one day from the calendar: the `holidays` package decides that day again."""
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            action="calendar.exception_delete",
            target=exception,
            details={"day": exception.day.isoformat(), "kind": exception.kind, "source": exception.source},
        )
        day = exception.day
        exception.delete()
        _changed(day, actor=actor)


def calendar_year_confirm(
    *, year: int, reference: str, note: str = "", actor: Any = None, instance: CalendarYear | None = None
) -> CalendarYear:
    """Record that `actor` compared the year's official calendar with this one and found them agreeing;
    confirming again (with a new reference) makes them the one who confirmed it, now."""
    confirmation = instance or CalendarYear.objects.filter(year=year).first() or CalendarYear()
    creating = confirmation.pk is None
    confirmation.year = year
    confirmation.reference = (reference or "").strip()
    confirmation.note = (note or "").strip()
    confirmation.confirmed_at = timezone.now()
    confirmation.confirmed_by = _staff(actor)
    confirmation.full_clean()
    with transaction.atomic():
        confirmation.save()
        audit_event_record(
            actor=actor,
            action="calendar.year_confirm" if creating else "calendar.year_reconfirm",
            target=confirmation,
            details={"year": confirmation.year, "reference": confirmation.reference},
        )
    return confirmation


def calendar_year_unconfirm(*, confirmation: CalendarYear, actor: Any = None) -> None:
    """Withdraw a year's confirmation (the admin warns again while the year is near)."""
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            action="calendar.year_unconfirm",
            target=confirmation,
            details={"year": confirmation.year, "reference": confirmation.reference},
        )
        confirmation.delete()
