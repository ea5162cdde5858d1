from django.urls import path

from . import views

app_name = "withdrawals"

urlpatterns = [
    path("", views.withdrawal_form, name="form"),
    path("sent/", views.withdrawal_sent, name="sent"),
    path("confirm/<str:token>/", views.withdrawal_confirm, name="confirm"),
    path("status/<str:token>/", views.withdrawal_status, name="status"),
    path("status/<str:token>/answer/", views.withdrawal_answer, name="answer"),
    path("status/<str:token>/cancel/", views.withdrawal_cancel, name="cancel"),
]
