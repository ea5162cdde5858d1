from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordResetForm,
    UserChangeForm,
)
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.html import format_html
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from apps.acceptances.selectors import policy_current
from apps.core.validators import validate_email_domain, validate_visible_text
from apps.notifications.services import outbox_email_queue

# The password hash of the stand-in account: the reset token mixes the hash in, as for a real account.
STAND_IN_PASSWORD = make_password(None)


def full_name_clean(value: str) -> str:
    """Return the name on one line with single spaces; refuse an empty or invisible-character name."""
    name = " ".join(value.split())
    if not name:
        raise forms.ValidationError(_("Enter your full name."), code="required")
    validate_visible_text(name)
    return name


class SignupForm(forms.Form):
    # Each message names what is missing: the error summary at the top lists them without their labels.
    full_name = forms.CharField(
        label=_("Full name"), max_length=200, error_messages={"required": _("Enter your full name.")}
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        validators=[validate_email_domain],
        error_messages={"required": _("Enter your email address.")},
    )
    phone = PhoneNumberField(
        label=_("Phone (optional)"),
        required=False,
        region="KZ",
        help_text=_("For example +7 701 234 5678."),
        error_messages={"invalid": _("Enter a valid phone number, for example +7 701 234 5678.")},
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": _("Choose a password.")},
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": _("Enter the same password again.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = get_language()
        self.fields["email"].widget.attrs.update(autocomplete="email")
        self.fields["full_name"].widget.attrs.update(autocomplete="name")
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["password1"].widget.attrs.update(autocomplete="new-password")
        self.fields["password2"].widget.attrs.update(autocomplete="new-password")
        self.policy = policy_current()
        if self.policy is not None:
            self.fields["policy_version"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=self.policy.number, required=False
            )
            self.fields["accept_policy"] = forms.BooleanField(
                label=format_html(
                    _('I have read and accept the <a href="{url}">privacy policy</a> (version {number})'),
                    url=reverse("policies:current"),
                    number=self.policy.number,
                ),
                required=True,
                error_messages={"required": _("You must accept the privacy policy to create an account.")},
            )

    def clean_policy_version(self):
        number = self.cleaned_data.get("policy_version")
        if self.policy is not None and number != self.policy.number:
            raise forms.ValidationError(
                _(
                    "A new version of the privacy policy was published while you filled in the form. "
                    "Please read version %(number)s and tick the box again."
                )
                % {"number": self.policy.number},
                code="policy_changed",
            )
        return number

    def clean_email(self):
        # A taken address is not an error here: sign-up answers as for a new one and tells its owner.
        return self.cleaned_data["email"].strip().lower()

    def clean_full_name(self):
        return full_name_clean(self.cleaned_data["full_name"])

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error(
                "password2", forms.ValidationError(_("The two passwords differ."), code="mismatch")
            )
        elif p1:
            user = get_user_model()(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(p1, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    phone = PhoneNumberField(
        label=_("Phone (optional)"),
        required=False,
        region="KZ",
        error_messages={"invalid": _("Enter a valid phone number, for example +7 701 234 5678.")},
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def clean_full_name(self):
        return full_name_clean(self.cleaned_data["full_name"])


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True}),
        validators=[validate_email_domain],
    )
    error_messages = {
        "invalid_login": _("The email or password is wrong. Both are case-sensitive except the email."),
        "inactive": _("This account is not active."),
    }

    def clean_username(self) -> str:
        # Addresses are stored in lower case, so the one typed is matched whatever its case.
        return self.cleaned_data["username"].strip().lower()


class OutboxPasswordResetForm(PasswordResetForm):
    """Send the reset link through the outbox, in the account's language.

    An address without an account costs the same work: a token for a stand-in account and the same outbox
    write, rolled back. So how long the answer takes tells nobody whether the address has an account.
    """

    def save(self, *, token_generator=default_token_generator, **kwargs):
        email = self.cleaned_data["email"]
        users = list(self.get_users(email))
        with transaction.atomic():
            for user in users or [_stand_in_user(email)]:
                self.send_mail(
                    None,
                    None,
                    {
                        "user": user,
                        "uid": urlsafe_base64_encode(force_bytes(user.pk or 0)),
                        "token": token_generator.make_token(user),
                    },
                    None,
                    user.email,
                )
            if not users:
                transaction.set_rollback(True)

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        validators=[validate_email_domain],
    )

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        user = context["user"]
        outbox_email_queue(
            to=to_email,
            template="password_reset",
            language=user.language,
            context={
                "full_name": user.full_name,
                "reset_path": f"/accounts/reset/{context['uid']}/{context['token']}/",
            },
            dedup_key=f"password-reset:{user.pk}:{context['token']}",
            user=user,
        )


def _stand_in_user(email: str):
    """An unsaved account shaped like a real one, for the work done when the address has no account."""
    return get_user_model()(
        pk=0, email=email, full_name="", language=settings.LANGUAGE_CODE, password=STAND_IN_PASSWORD
    )


class OneTimeCodeForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self):
        token = "".join(self.cleaned_data["token"].split())
        if not (token.isdigit() and len(token) == 6):
            raise forms.ValidationError(_("Enter the 6 digits your app shows."), code="format")
        return token


# --- staff (admin) --------------------------------------------------------------------------------


class _StaffUserFormMixin:
    """The address and name rules of the public forms, for the user admin's forms too."""

    def clean_email(self):
        email = self.cleaned_data["email"]
        validate_email_domain(email)
        return email

    def clean_full_name(self):
        return full_name_clean(self.cleaned_data["full_name"])


class UserCreationAdminForm(_StaffUserFormMixin, AdminUserCreationForm):
    class Meta:
        model = get_user_model()
        fields = ("email", "full_name", "language")


class UserChangeAdminForm(_StaffUserFormMixin, UserChangeForm):
    class Meta:
        model = get_user_model()
        fields = "__all__"
