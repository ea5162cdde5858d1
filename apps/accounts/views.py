from base64 import b32encode
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_ratelimit.decorators import ratelimit

from apps.acceptances.services import VersionNotCurrent, acceptance_signup
from apps.core.http import client_ip

from . import services
from .forms import (
    EmailAuthenticationForm,
    OneTimeCodeForm,
    OutboxPasswordResetForm,
    ProfileForm,
    SignupForm,
)
from .security import email_key, rate, username_network_key


def _set_language_cookie(response, language: str) -> None:
    """Remember the language with the same cookie flags as Django's own language switch."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@ratelimit(key="ip", rate=rate("RATELIMIT_SIGNUP_IP"), method="POST", group="signup-ip")
def signup(request):
    """Create an account, sign it in (unverified) and email it the link that confirms its address; for an
    address that has an account, create nothing, sign nobody in and email that account's owner instead.

    The two answers differ in one way we accept: a new address ends signed in on the account page, a taken
    one on the log-in page. Whoever tries an address can tell the two apart by the session (signed in or
    not), so sign-up still shows that an address has an account. The wording of the taken answer never says
    so, nothing the visitor typed reaches the owner, and RATELIMIT_SIGNUP_IP bounds how many addresses one
    client can try.
    """
    if request.user.is_authenticated:
        return redirect("accounts:account")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = acceptance_signup(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                phone=data["phone"],
                language=data["language"],
                ip=client_ip(request),
                policy_version=data["policy_version"] if form.policy is not None else None,
                policy_language=get_language(),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except VersionNotCurrent:
            form.add_error(
                "accept_policy",
                _("A new version of the privacy policy was published. Read it and tick the box again."),
            )
        else:
            if user is None:
                messages.info(
                    request,
                    _(
                        "If this address is new to us, check your email: we have sent a message to it. If "
                        "you have an account with this address already, log in or choose a new password."
                    ),
                )
                return redirect("accounts:login")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("accounts:account")
    return render(request, "accounts/signup.html", {"form": form})


@never_cache
def verify_email(request, token: str):
    """Show a button that confirms the address; a GET changes nothing, so link scanners use up no link."""
    problem = None
    if request.method == "POST":
        try:
            services.user_email_verify(token=token, ip=client_ip(request))
        except services.VerificationExpired:
            problem = "expired"
        except services.VerificationFailed:
            problem = "invalid"
        else:
            messages.success(request, _("Thank you. Your email address is confirmed."))
            return redirect("accounts:account" if request.user.is_authenticated else "accounts:login")
    status = {"expired": 410, "invalid": 404}.get(problem, 200)
    return render(
        request,
        "accounts/verify_email.html",
        {"problem": problem, "hours": settings.ACCOUNT_VERIFY_HOURS},
        status=status,
    )


@login_required
@require_POST
@ratelimit(key="user", rate=rate("RATELIMIT_VERIFY_EMAIL_USER"), method="POST", group="verify-email-send")
def verify_email_send(request):
    """Send the signed-in account a new link that confirms its address."""
    if services.user_email_verification_send(user=request.user):
        messages.success(
            request,
            _("We have sent a new link to %(email)s. Open it to confirm your address.")
            % {"email": request.user.email},
        )
    else:
        messages.info(request, _("Your email address is confirmed already."))
    return redirect("accounts:account")


@login_required
def account(request):
    user = request.user
    initial = {"full_name": user.full_name, "phone": user.phone, "language": user.language}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.user_profile_update(
            user=user,
            full_name=data["full_name"],
            phone=data["phone"],
            language=data["language"],
            ip=client_ip(request),
        )
        messages.success(request, _("Your details were saved."))
        response = redirect("accounts:account")
        _set_language_cookie(response, user.language)
        return response
    return render(request, "accounts/account.html", {"form": form})


@require_POST
def set_language(request):
    """Switch the interface language; a signed-in user keeps the choice on the account."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_language_set(user=request.user, language=language)
    return response


@method_decorator(
    ratelimit(key="ip", rate=rate("RATELIMIT_LOGIN_IP"), method="POST", group="login-ip"), name="dispatch"
)
@method_decorator(
    ratelimit(
        key=username_network_key,
        rate=rate("RATELIMIT_LOGIN_EMAIL_NETWORK"),
        method="POST",
        group="login-email-network",
    ),
    name="dispatch",
)
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        _set_language_cookie(response, self.request.user.language)
        return response


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@method_decorator(
    ratelimit(key="ip", rate=rate("RATELIMIT_PASSWORD_RESET_IP"), method="POST", group="reset-ip"),
    name="dispatch",
)
@method_decorator(
    ratelimit(key=email_key, rate=rate("RATELIMIT_PASSWORD_RESET_EMAIL"), method="POST", group="reset-email"),
    name="dispatch",
)
class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = OutboxPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


WRONG_CODE = gettext_lazy(
    "This code is not right. Enter the code your app shows now; after a wrong code, wait a few seconds."
)


def _next_url(request) -> str:
    """Return the `next` of the request if it stays on this site, else the admin's front page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _staff_only(request) -> None:
    if not request.user.is_staff:
        raise Http404


def _has_confirmed_device(user) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


@login_required
@ratelimit(key="user", rate=rate("RATELIMIT_TWO_FACTOR_USER"), method="POST", group="two-factor")
def two_factor_setup(request):
    """Guide a staff member through adding an authenticator app: QR code, secret, confirming code."""
    _staff_only(request)
    next_url = _next_url(request)
    if _has_confirmed_device(request.user):
        return redirect(f"{reverse('accounts:two_factor_verify')}?{urlencode({'next': next_url})}")
    device = services.staff_totp_device_start(user=request.user)
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.staff_totp_device_confirm(
            user=request.user, device=device, token=form.cleaned_data["token"], ip=client_ip(request)
        ):
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on for your account."))
            return redirect(next_url)
        form.add_error("token", WRONG_CODE)
    secret = b32encode(device.bin_key).decode()
    qr_svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, border=2, svgclass="qr-code", title=_("QR code for your authenticator app")
    )
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": qr_svg,
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }
    return render(request, "accounts/two_factor_setup.html", context)


@login_required
@ratelimit(key="user", rate=rate("RATELIMIT_TWO_FACTOR_USER"), method="POST", group="two-factor")
def two_factor_verify(request):
    """Ask a staff member for the current code from their authenticator app."""
    _staff_only(request)
    next_url = _next_url(request)
    if request.user.is_verified():
        return redirect(next_url)
    if not _has_confirmed_device(request.user):
        return redirect(f"{reverse('accounts:two_factor_setup')}?{urlencode({'next': next_url})}")
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        form.add_error("token", WRONG_CODE)
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


def lockout(request, original_response=None, credentials=None):
    """Explain a django-axes lockout (too many failed log-ins for this email and address)."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "accounts/lockout.html", {"cooloff_minutes": minutes}, status=429)
