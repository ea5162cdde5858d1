"""The official Kazakh production calendars of 2026 and 2027, where they differ from (or are only estimated
by) the `holidays` package. Written out here, not imported, so the migration stays as it was.

What the package already has and the official calendars agree with (the statutory moves of a public holiday
that falls on a weekend: 9 March, 24-25 March, 11 May, 26 October 2026; 4 January, 24 March, 3 May,
10 May 2027) is not repeated. No government resolution transferring a day off (a working Saturday) was
found for 2026 (the official calendar counts 246 working days at a five-day week, which the package plus
31 August gives) nor, when this was written, for 2027: the privacy officer adds such days in the admin.
"""

from datetime import date

from django.db import migrations

DAYS = [
    {
        "day": date(2026, 5, 27),
        "kind": "day_off",
        "source": (
            "Official holiday calendar for 2026 on egov.kz (published January 2026); Spiritual Administration "
            "of Muslims of Kazakhstan (QMDB), calendar of religious dates for 2026, 6 November 2025 "
            "(muftyat.kz; zakon.kz 6.11.2025, kazpravda.kz 14.01.2026)"
        ),
        "note": (
            "Kurban Ait, first day: a day off, never moved when it falls on a weekend (Labour Code, art. 85). "
            "The holidays package has this date only as an estimate; listed so that terms do not depend on it."
        ),
    },
    {
        "day": date(2026, 8, 31),
        "kind": "day_off",
        "source": (
            "Official holiday calendar for 2026 on egov.kz (published January 2026; alau.kz 2.01.2026, "
            "tengrinews.kz 11.12.2025: 246 working days)"
        ),
        "note": (
            "Constitution Day, 30 August 2026, is a Sunday, so the day off moves to Monday 31 August. "
            "UNCERTAIN: the Constitution in force from 1 July 2026 moves Constitution Day to 15 March, and the "
            "holidays package (following the amended Law 'On holidays', adilet.zan.kz Z010000267_ history; "
            "vacanza/holidays pull request 3690) has no 30 August holiday in 2026. Kept as a day off because "
            "the official calendar published in January 2026 lists it; confirm with the Ministry of Labour "
            "and Social Protection."
        ),
    },
    {
        "day": date(2027, 3, 15),
        "kind": "day_off",
        "source": (
            "Constitution of the Republic of Kazakhstan in force from 1 July 2026; Law 'On holidays in the "
            "Republic of Kazakhstan' as amended (adilet.zan.kz Z010000267_)"
        ),
        "note": (
            "Constitution Day on its new date, a Monday. The holidays package lists it too; listed so that "
            "terms do not depend on the package's version. Check against the official 2027 calendar."
        ),
    },
    {
        "day": date(2027, 5, 16),
        "kind": "day_off",
        "source": "Astronomical estimate (holidays package); QMDB's calendar for 2027 not yet published",
        "note": (
            "Kurban Ait, first day, expected on Sunday 16 May 2027: a religious holiday is not moved to a "
            "working day, so no working day is lost. UNCERTAIN by one day: if QMDB names Monday 17 May, add "
            "17 May 2027 as a day off."
        ),
    },
]


def forward(apps, schema_editor):
    CalendarException = apps.get_model("calendars", "CalendarException")
    for row in DAYS:
        CalendarException.objects.get_or_create(day=row["day"], defaults=row)


def backward(apps, schema_editor):
    CalendarException = apps.get_model("calendars", "CalendarException")
    CalendarException.objects.filter(day__in=[row["day"] for row in DAYS], updated_by__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("calendars", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
