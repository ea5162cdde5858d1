from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from apps.acceptances.api import api
from apps.accounts.views import set_language
from apps.records.api import router as records_router
from apps.withdrawals.api import router as requests_router

from . import views

api.add_router("/", records_router)
api.add_router("/", requests_router)

admin.site.site_header = _("Alilo Privacy Portal")
admin.site.site_title = _("Alilo Privacy Portal")
admin.site.index_title = _("Privacy administration")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", set_language, name="set_language"),
    path("accounts/", include("apps.accounts.urls")),
    path("privacy_policy/", include("apps.policies.urls")),
    path("", include("apps.records.urls")),
    path("privacy/withdraw/", include("apps.withdrawals.urls")),
    path("privacy/requests/", include("apps.withdrawals.request_urls")),
    path("privacy/", include("apps.acceptances.urls")),
    path("api/v1/", api.urls),
    # Signed callbacks of connected services (docs/connected-services.md).
    path("connectors/", include("apps.connectors.urls")),
    path("admin/", admin.site.urls),
    # ESP delivery reports, e.g. /anymail/postmark/tracking/ (basic auth: ANYMAIL_WEBHOOK_SECRET).
    path("anymail/", include("anymail.urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
