"""The person's side of every type of request under /privacy/requests/: the page that asks what they want to
do, a form per type, and each request's confirm and status pages (a withdrawal keeps /privacy/withdraw/)."""

from django.urls import path, register_converter

from . import views
from .details import FORM_TYPES
from .urls import request_pages

app_name = "requests"


class RequestTypeConverter:
    """The types with a form of their own here: access, correction, blocking, destruction, objection."""

    regex = "|".join(FORM_TYPES)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(RequestTypeConverter, "request_type")

urlpatterns = [
    path("", views.request_start, name="start"),
    *request_pages,
    path("<request_type:request_type>/", views.request_form, name="form"),
]
