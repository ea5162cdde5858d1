from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from apps.accounts.forms import full_name_clean
from apps.core.validators import (
    validate_email_domain,
    validate_visible_multiline_text,
    validate_visible_text,
)

from .corrections import CORRECTION_FIELDS, correction_field_label, correction_items
from .models import Purpose, RequestType, ThirdParty, WithdrawalRequest

TRAP_FIELD = "website"


class WithdrawalRequestForm(forms.Form):
    full_name = forms.CharField(
        label=_("Full name"), max_length=200, error_messages={"required": _("Enter your full name.")}
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        validators=[validate_email_domain],
        error_messages={"required": _("Enter your email address.")},
        help_text=_("We send the confirmation, the reference and every answer to this address."),
    )
    phone = PhoneNumberField(
        label=_("Phone (optional)"),
        required=False,
        region="KZ",
        help_text=_("For example +7 701 234 5678."),
        error_messages={"invalid": _("Enter a valid phone number, for example +7 701 234 5678.")},
    )
    scope = forms.ChoiceField(
        label=_("What do you withdraw consent for?"),
        choices=WithdrawalRequest.Scope.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose whether you withdraw consent for all processing or some purposes.")
        },
    )
    purposes = forms.MultipleChoiceField(
        label=_("Purposes (clause 2.1 of the policy)"),
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Only for a partial withdrawal: tick every purpose you no longer agree to."),
    )
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[validate_visible_multiline_text],
    )
    acknowledgement = forms.BooleanField(
        label=_(
            "I understand that withdrawing consent to all processing may end my user agreement with Alilo "
            "(clause 2.6 of the policy), so I may no longer be able to use the services."
        ),
        required=False,
    )
    # Left empty by people; bots that fill every field are recognised by it.
    website = forms.CharField(label=_("Leave this field empty"), required=False, max_length=200)
    submission_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user if getattr(user, "is_authenticated", False) else None
        self.fields["full_name"].widget.attrs.update(autocomplete="name")
        self.fields["email"].widget.attrs.update(autocomplete="email")
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields[TRAP_FIELD].widget.attrs.update(autocomplete="off", tabindex="-1")
        if self.user is not None:
            email = self.fields["email"]
            email.disabled = True
            email.initial = self.user.email
            email.help_text = _("The address of your account. We send the reference and every answer to it.")
            self.fields["full_name"].initial = self.user.full_name
            self.fields["phone"].initial = self.user.phone or None

    def clean_full_name(self):
        return full_name_clean(self.cleaned_data["full_name"])

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope == WithdrawalRequest.Scope.PARTIAL and not cleaned.get("purposes"):
            self.add_error(
                "purposes",
                forms.ValidationError(
                    _("Tick at least one purpose, or choose all processing."), code="required"
                ),
            )
        if scope == WithdrawalRequest.Scope.ALL and not cleaned.get("acknowledgement"):
            self.add_error(
                "acknowledgement",
                forms.ValidationError(
                    _(
                        "To withdraw consent to all processing, confirm that you understand "
                        "it may end your user agreement."
                    ),
                    code="required",
                ),
            )
        return cleaned

    @property
    def is_trapped(self) -> bool:
        return bool(self.data.get(TRAP_FIELD))


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Your answer"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write your answer.")},
        validators=[validate_visible_multiline_text],
    )


class CancelForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, cancel my request. I understand that my consent stays as it is."),
        error_messages={"required": _("Tick the box to confirm that you want to cancel the request.")},
    )


# --- staff (admin) --------------------------------------------------------------------------------


def _staff_queryset():
    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("full_name", "email")


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=_staff_queryset(),
        error_messages={
            "required": _("Choose a staff member."),
            "invalid_choice": _("Choose a staff member."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _staff_queryset()
        self.fields["assignee"].label_from_instance = lambda user: f"{user.full_name} <{user.email}>"


class MessageForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the requester"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write what you need to know from the requester.")},
        validators=[validate_visible_multiline_text],
    )


class GrantForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I have checked the request; apply the withdrawal."),
        error_messages={"required": _("Tick the box to confirm that the withdrawal should be applied.")},
    )


class ConfirmGrantForm(forms.Form):
    """The tick that grants an access request, a blocking or an objection: its label says what granting
    does."""

    LABELS = {
        RequestType.ACCESS: _("I have checked the request and its data package; release the package."),
        RequestType.BLOCKING: _("I have checked the request; block the data."),
        RequestType.OBJECTION: _("I have checked the request; record the objection."),
    }
    confirm = forms.BooleanField(
        error_messages={"required": _("Tick the box to confirm that the request should be granted.")}
    )

    def __init__(self, *args, request_type: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = self.LABELS.get(request_type, _("I have checked the request."))


class DestructionGrantForm(forms.Form):
    """Granting a destruction cannot be undone: staff type the request's reference to confirm it."""

    confirm = forms.BooleanField(
        label=_("I have checked the request; destroy the data."),
        error_messages={"required": _("Tick the box to confirm that the data should be destroyed.")},
    )
    reference = forms.CharField(
        label=_("Type the request's reference to confirm"),
        max_length=20,
        error_messages={"required": _("Type the request's reference to confirm the destruction.")},
    )

    def __init__(self, *args, withdrawal: WithdrawalRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.withdrawal = withdrawal

    def clean_reference(self):
        typed = self.cleaned_data["reference"].strip().upper()
        if typed != (self.withdrawal.reference or "").upper():
            raise forms.ValidationError(
                _("The reference typed is not this request's; nothing was destroyed."), code="reference"
            )
        return typed


class CorrectionGrantForm(forms.Form):
    """What staff apply of a correction: for each item of data, a tick and its new value (filled in from
    what the person asked), and a note for what was not changed."""

    note = forms.CharField(
        label=_("What was not changed, and why (the requester reads it)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_visible_multiline_text],
    )

    def __init__(self, *args, withdrawal: WithdrawalRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.withdrawal = withdrawal
        asked = {item.field: item.correct for item in correction_items(withdrawal) if item.correctable}
        self.rows = []
        for field in CORRECTION_FIELDS:
            label = correction_field_label(field)
            apply = forms.BooleanField(label=label, required=False, initial=field in asked)
            if field == "email":
                value = forms.EmailField(max_length=254, validators=[validate_email_domain])
            elif field == "phone":
                value = PhoneNumberField(
                    region="KZ",
                    error_messages={"invalid": _("Enter a valid phone number, for example +7 701 234 5678.")},
                )
            else:
                value = forms.CharField(max_length=1000, validators=[validate_visible_text])
            value.required = False
            value.label = label
            value.initial = asked.get(field, "")
            self.fields[f"apply_{field}"] = apply
            self.fields[f"value_{field}"] = value
            self.rows.append((field, label, field in asked, asked.get(field, "")))

    def apply_field(self, field):
        return self[f"apply_{field}"]

    def value_field(self, field):
        return self[f"value_{field}"]

    def clean(self):
        cleaned = super().clean()
        changes = {}
        for field in CORRECTION_FIELDS:
            if not cleaned.get(f"apply_{field}"):
                continue
            value = cleaned.get(f"value_{field}")
            if f"value_{field}" in self.errors:
                continue
            if not str(value or "").strip():
                self.add_error(f"value_{field}", _("Give the new value of each correction you apply."))
                continue
            changes[field] = value.as_e164 if field == "phone" else str(value).strip()
        if not changes and not self.errors:
            raise forms.ValidationError(
                _("Tick at least one correction to apply, or refuse the request."), code="empty"
            )
        cleaned["changes"] = changes
        return cleaned


class UnblockForm(forms.Form):
    note = forms.CharField(
        label=_("Why the blocking is lifted (the requester reads it)"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the blocking is lifted; the requester reads it.")},
        validators=[validate_visible_multiline_text],
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the refusal (the requester sees it)"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("A refusal needs a written reason.")},
        validators=[validate_visible_multiline_text],
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note (never shown to the requester)"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the note.")},
        validators=[validate_visible_multiline_text],
    )


class ThirdPartyForm(forms.ModelForm):
    class Meta:
        model = ThirdParty
        fields = ["name", "contact_email", "language", "active"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        validate_visible_text(name)
        return name

    def clean_contact_email(self):
        email = self.cleaned_data["contact_email"]
        validate_email_domain(email)
        return email


class ReceivedApplicationForm(forms.Form):
    """An application that reached us by email, post or in person, as staff enter it."""

    channel = forms.ChoiceField(
        label=_("Received by"),
        choices=[
            choice
            for choice in WithdrawalRequest.Channel.choices
            if choice[0] != WithdrawalRequest.Channel.WEB
        ],
        error_messages={"required": _("Choose how the application reached us.")},
    )
    received_at = forms.DateTimeField(
        label=_("Received on (Almaty time)"),
        help_text=_(
            "The date and time on the letter or email, or of the visit. The term counts from this day."
        ),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"],
        error_messages={
            "required": _("Enter when the application reached us."),
            "invalid": _("Enter the date and time as on the letter, for example 03.06.2026 10:30."),
        },
    )
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        error_messages={"required": _("Enter the requester's full name.")},
    )
    email = forms.EmailField(
        label=_("Email (optional)"),
        max_length=254,
        required=False,
        validators=[validate_email_domain],
        help_text=_("We send the receipt and every answer here. Without it, answer by post."),
    )
    phone = PhoneNumberField(
        label=_("Phone (optional)"),
        required=False,
        region="KZ",
        error_messages={"invalid": _("Enter a valid phone number, for example +7 701 234 5678.")},
    )
    postal_address = forms.CharField(
        label=_("Postal address (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_visible_multiline_text],
    )
    language = forms.ChoiceField(
        label=_("Language of the application"), choices=WithdrawalRequest._meta.get_field("language").choices
    )
    scope = forms.ChoiceField(
        label=_("What is consent withdrawn for?"),
        choices=WithdrawalRequest.Scope.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose all processing or some purposes.")},
    )
    purposes = forms.MultipleChoiceField(
        label=_("Purposes (clause 2.1 of the policy)"),
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason given (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_visible_multiline_text],
    )
    acknowledgement = forms.BooleanField(
        label=_("The application says the requester understands the user agreement may end (clause 2.6)."),
        required=False,
    )
    account = forms.IntegerField(
        label=_("Account number (optional)"),
        required=False,
        min_value=1,
        help_text=_(
            "The number (#) of the requester's account in Users, once you have checked the application is "
            "theirs. The withdrawal's effects apply to that account when it is granted; without it, to none."
        ),
        error_messages={"invalid": _("Enter the account's number, for example 1234.")},
    )
    scan = forms.FileField(
        label=_("Scan of the application (optional)"),
        required=False,
        help_text=_("PDF, JPEG, PNG or TIFF, at most 10 MB."),
    )

    def clean_full_name(self):
        return full_name_clean(self.cleaned_data["full_name"])

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_account(self):
        number = self.cleaned_data["account"]
        if number is None:
            return None
        account = get_user_model().objects.filter(pk=number, erased_at__isnull=True).first()
        if account is None:
            raise forms.ValidationError(_("There is no account with this number."), code="account")
        return account

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope == WithdrawalRequest.Scope.PARTIAL and not cleaned.get("purposes"):
            self.add_error("purposes", _("Tick at least one purpose, or choose all processing."))
        if scope == WithdrawalRequest.Scope.ALL and not cleaned.get("acknowledgement"):
            self.add_error(
                "acknowledgement",
                _(
                    "A withdrawal of all consent needs the requester's acknowledgement that the agreement "
                    "may end; ask them for it before registering."
                ),
            )
        no_contact = not cleaned.get("email") and not cleaned.get("postal_address", "").strip()
        if no_contact and "email" not in self.errors and "postal_address" not in self.errors:
            self.add_error("email", _("Give an email or a postal address to answer to."))
        return cleaned


class ThirdPartyConfirmForm(forms.Form):
    notice = forms.IntegerField(widget=forms.HiddenInput)
    confirmed_on = forms.DateField(
        label=_("Confirmed on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={
            "required": _("Enter the date of their confirmation."),
            "invalid": _("Enter the date of their confirmation, for example 03.06.2026."),
        },
    )
    note = forms.CharField(
        label=_("How they confirmed"),
        max_length=1000,
        error_messages={
            "required": _("Say how they confirmed it, for example the date and number of their reply.")
        },
        validators=[validate_visible_text],
    )
