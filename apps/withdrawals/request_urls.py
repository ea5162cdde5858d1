"""The person's side of every type of request under /privacy/requests/: the page that asks what they want to
do, a form per type, and each request's confirm and status pages (a withdrawal keeps /privacy/withdraw/)."""

from django.urls import path, register_converter

from . import views
from .details import FORM_TYPES

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
    path("sent/", views.withdrawal_sent, name="sent"),
    path("confirm/<str:token>/", views.withdrawal_confirm, name="confirm"),
    path("status/<str:token>/", views.withdrawal_status, name="status"),
    path("status/<str:token>/answer/", views.withdrawal_answer, name="answer"),
    path("status/<str:token>/cancel/", views.withdrawal_cancel, name="cancel"),
    path("status/<str:token>/package/link/", views.access_package_link_send, name="package_send_link"),
    path(
        "status/<str:token>/package/<slug:file_format>/",
        views.access_package_download,
        name="package_download",
    ),
    path("package/<str:token>/", views.access_package_link, name="package_link"),
    path("<request_type:request_type>/", views.request_form, name="form"),
]
