"""The Kazakh working calendar the privacy officer keeps: the days where the official production calendar
differs from the `holidays` package, and which years' official calendars someone has checked."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

FIRST_YEAR = 2000
LAST_YEAR = 2100


class CalendarException(models.Model):
    """One day whose status the official calendar sets differently from the `holidays` package: a day off
    it lacks (a holiday moved off a weekend, a government transfer), or a working day (a working Saturday)."""

    class Kind(models.TextChoices):
        DAY_OFF = "day_off", _("Day off")
        WORKING_DAY = "working_day", _("Working day")

    day = models.DateField(
        _("date"),
        unique=True,
        help_text=_("One row per date; it overrides what the holidays package says about that date."),
    )
    kind = models.CharField(_("the day is"), max_length=12, choices=Kind.choices)
    source = models.CharField(
        _("source"),
        max_length=300,
        help_text=_(
            "The act or publication that sets this day: a government resolution's number and date, or the "
            "address of the official calendar."
        ),
    )
    note = models.TextField(
        _("note"), blank=True, help_text=_("Why the day is listed; say here if the date is not certain.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last changed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.get_kind_display()}"


class CalendarYear(models.Model):
    """A year whose official production calendar a staff member compared with this calendar and confirmed."""

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)]
    )
    reference = models.CharField(
        _("official calendar"),
        max_length=300,
        help_text=_(
            "Where the year's official calendar was published (the government resolution on transferred "
            "days off, the Ministry of Labour's production calendar)."
        ),
    )
    note = models.TextField(_("note"), blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("confirmed calendar year")
        verbose_name_plural = _("confirmed calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)
