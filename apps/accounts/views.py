from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from apps.acceptances.services import VersionNotCurrent, acceptance_record_signup
from apps.audit.services import client_ip

from . import services
from .forms import EmailAuthenticationForm, OutboxPasswordResetForm, ProfileForm, SignupForm


def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:account")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ip = client_ip(request)
        try:
            with transaction.atomic():
                user = services.user_signup(
                    email=data["email"],
                    password=data["password1"],
                    full_name=data["full_name"],
                    phone=data["phone"],
                    language=data["language"],
                    ip=ip,
                )
                if form.policy is not None:
                    acceptance_record_signup(
                        user=user,
                        version_number=data["policy_version"],
                        language=get_language(),
                        ip=ip,
                        user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    )
        except services.EmailTaken:
            form.add_error("email", _("An account with this email already exists."))
        except VersionNotCurrent:
            form.add_error(
                "accept_policy",
                _("A new version of the privacy policy was published. Read it and tick the box again."),
            )
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("accounts:account")
    return render(request, "accounts/signup.html", {"form": form})


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
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, user.language, max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax"
        )
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


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            self.request.user.language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )
        return response


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


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
