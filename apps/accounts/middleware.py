from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .security import staff_session_expired


class UserLanguageMiddleware:
    """Serve a signed-in user in the language they chose, wherever they sign in from."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class StaffSessionExpiryMiddleware:
    """End a staff session STAFF_SESSION_HOURS after its log-in, however active it was."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff and staff_session_expired(request):
            logout(request)
            messages.info(request, _("Your staff session has ended. Please log in again."))
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return self.get_response(request)


class AdminTwoFactorMiddleware:
    """Lead staff without a verified second factor away from the admin when ADMIN_REQUIRE_2FA is on.

    Without a confirmed device they go to the guided set-up; with one, to the code prompt. The admin's
    log-in and log-out pages stay reachable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.ADMIN_REQUIRE_2FA and self._needs_second_factor(request):
            from django_otp import devices_for_user

            has_device = any(True for _device in devices_for_user(request.user, confirmed=True))
            target = "accounts:two_factor_verify" if has_device else "accounts:two_factor_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _needs_second_factor(request) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff or user.is_verified():
            return False
        admin_root = reverse("admin:index")
        if not request.path.startswith(admin_root):
            return False
        return request.path not in (reverse("admin:login"), reverse("admin:logout"))
