from django.conf import settings
from django.contrib import admin
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django_ratelimit.decorators import ratelimit

from .security import rate, username_network_key


class PortalAdminSite(admin.AdminSite):
    """The admin, entered only with a verified second factor when ADMIN_REQUIRE_2FA is on.

    AdminTwoFactorMiddleware leads staff to set-up or verification first; this check is the backstop.
    """

    index_template = "admin/portal_index.html"

    def index(self, request, extra_context=None):
        """The admin index with the dashboard blocks (ADMIN_DASHBOARD_BLOCKS) the staff member may see."""
        blocks = [
            block for path in settings.ADMIN_DASHBOARD_BLOCKS if (block := import_string(path)(request))
        ]
        return super().index(request, {"dashboard_blocks": blocks, **(extra_context or {})})

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        if not settings.ADMIN_REQUIRE_2FA:
            return True
        is_verified = getattr(request.user, "is_verified", None)  # set by django_otp's OTPMiddleware
        return bool(is_verified and is_verified())

    @method_decorator(ratelimit(key="ip", rate=rate("RATELIMIT_LOGIN_IP"), method="POST", group="login-ip"))
    @method_decorator(
        ratelimit(
            key=username_network_key,
            rate=rate("RATELIMIT_LOGIN_EMAIL_NETWORK"),
            method="POST",
            group="login-email-network",
        )
    )
    def login(self, request, extra_context=None):
        return super().login(request, extra_context)
