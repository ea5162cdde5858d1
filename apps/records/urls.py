from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("privacy/me/records/", views.my_records, name="mine"),
    path("privacy/me/records/<int:pk>/", views.acceptance_record, name="acceptance"),
    path("privacy/records/verify/", views.verify, name="verify"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
]
