from django.urls import path

from . import views

app_name = "policies"

urlpatterns = [
    path("", views.current, name="current"),
    path("v/<int:number>/", views.version, name="version"),
    path("archive/", views.archive, name="archive"),
    path("diff/<int:a>/<int:b>/", views.diff, name="diff"),
]
