from django.urls import path

from . import views

app_name = "withdrawals"

# The pages of a request once filed, the same under /privacy/withdraw/ and /privacy/requests/.
request_pages = [
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
]

urlpatterns = [path("", views.withdrawal_form, name="form"), *request_pages]
