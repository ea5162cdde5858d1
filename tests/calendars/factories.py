import factory

from apps.calendars.models import CalendarException


class CalendarExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CalendarException
        django_get_or_create = ("day",)

    kind = CalendarException.Kind.DAY_OFF
    source = "Government resolution No. 1 of 1 January"
