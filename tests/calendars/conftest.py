from importlib import import_module

import pytest
from django.apps import apps

from apps.calendars.selectors import calendar_exceptions_changed


def shipped_calendar_ensure() -> None:
    """Write the official 2026-2027 days as the data migration does, if a flush (transactional test) removed
    them."""
    import_module("apps.calendars.migrations.0002_official_calendars_2026_2027").forward(apps, None)
    calendar_exceptions_changed()


@pytest.fixture
def shipped_calendar(db):
    shipped_calendar_ensure()
