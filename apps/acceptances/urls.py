from django.urls import path

from . import views

app_name = "acceptances"

urlpatterns = [
    path("accept/<int:number>/", views.accept, name="accept"),
    path("me/", views.my_privacy, name="my_privacy"),
    path("me/receipt/<int:pk>/", views.receipt, name="receipt"),
]
