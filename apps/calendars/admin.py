from django import forms
from django.contrib import admin
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .models import FIRST_YEAR, LAST_YEAR, CalendarException, CalendarYear
from .services import (
    calendar_exception_delete,
    calendar_exception_save,
    calendar_year_confirm,
    calendar_year_unconfirm,
)
from .working_days import package_is_working_day


class CalendarExceptionForm(forms.ModelForm):
    class Meta:
        model = CalendarException
        fields = ["day", "kind", "source", "note"]

    def clean_day(self):
        day = self.cleaned_data["day"]
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(
                _("Give a date between %(first)s and %(last)s."),
                code="year",
                params={"first": FIRST_YEAR, "last": LAST_YEAR},
            )
        return day


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin):
    form = CalendarExceptionForm
    list_display = ["day", "weekday", "kind", "package_says", "source", "updated_by"]
    list_filter = ["kind"]
    search_fields = ["source", "note"]
    date_hierarchy = "day"
    readonly_fields = ["package_says", "created_at", "updated_at", "updated_by"]
    fields = ["day", "kind", "source", "note", "package_says", "created_at", "updated_at", "updated_by"]

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return date_format(obj.day, "l")

    @admin.display(description=_("the holidays package says"))
    def package_says(self, obj):
        if obj is None or obj.day is None:
            return "—"
        return _("Working day") if package_is_working_day(obj.day) else _("Day off")

    # --- Writes go through the services ----------------------------------------------------------

    def save_model(self, request, obj, form, change):
        calendar_exception_save(exception=obj, actor=request.user)

    def delete_model(self, request, obj):
        calendar_exception_delete(exception=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for exception in queryset:
            calendar_exception_delete(exception=exception, actor=request.user)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "confirmed_by", "confirmed_at", "reference"]
    fields = ["year", "reference", "note", "confirmed_by", "confirmed_at"]
    readonly_fields = ["confirmed_by", "confirmed_at"]

    def save_model(self, request, obj, form, change):
        calendar_year_confirm(
            year=obj.year, reference=obj.reference, note=obj.note, actor=request.user, instance=obj
        )

    def delete_model(self, request, obj):
        calendar_year_unconfirm(confirmation=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for confirmation in queryset:
            calendar_year_unconfirm(confirmation=confirmation, actor=request.user)
