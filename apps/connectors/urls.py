from django.urls import path

from . import views

app_name = "connectors"

urlpatterns = [
    path("callback/<uuid:call_id>/", views.callback, name="callback"),
]
