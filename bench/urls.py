"""The product's URLs plus the bare views the baselines measure (only in bench settings)."""

from django.urls import path

from bench import views
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/bare-page/", views.bare_page, name="bench_bare_page"),
    path("bench/bare-withdraw/", views.bare_withdraw, name="bench_bare_withdraw"),
    *product_urlpatterns,
]
