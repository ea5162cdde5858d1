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
from .details import (
    CORRECTION_KEYS,
    CORRECTIONS_MAX,
    DECISION_MAX,
    QUESTION_MAX,
    REASON_MAX,
    VALUE_MAX,
    request_details_clean,
)
from .models import (
    BlockingGrounds,
    CorrectableField,
    DestructionGrounds,
    Purpose,
    RequestType,
    ThirdParty,
    WithdrawalRequest,
)

TRAP_FIELD = "website"


class RequesterForm(forms.Form):
    """Who files the request (name, email, phone), the bot trap and the submission token: the same on the
    form of every type. A signed-in person's address is their account's."""

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
    # Left empty by people; bots that fill every field are recognised by it.
    website = forms.CharField(label=_("Leave this field empty"), required=False, max_length=200)
    submission_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The type's own fields follow who files it; the trap and the token come last.
        names = [name for name in self.fields if name not in (TRAP_FIELD, "submission_token")]
        self.order_fields([*names, TRAP_FIELD, "submission_token"])
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

    @property
    def is_trapped(self) -> bool:
        return bool(self.data.get(TRAP_FIELD))


class WithdrawalRequestForm(RequesterForm):
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


class RequestTypeForm(RequesterForm):
    """The form of one type of request other than a withdrawal. Its own rules are the service's
    (`request_details_clean`): the form asks them and puts each message next to its field."""

    request_type: str = ""
    # Where the rules' paths ("details.grounds") are answered on the form.
    detail_fields: dict[str, str] = {}

    def details_from(self, cleaned: dict) -> dict:
        """Return the type's `details` from the form's cleaned values."""
        return {}

    def field_for(self, path: str) -> str | None:
        if path in self.fields:
            return path
        return self.detail_fields.get(path)

    def clean(self):
        cleaned = super().clean()
        try:
            details, reason = request_details_clean(
                request_type=self.request_type,
                details=self.details_from(cleaned),
                reason=cleaned.get("reason", ""),
                acknowledgement=bool(cleaned.get("acknowledgement")),
            )
        except forms.ValidationError as error:
            for path, messages in error.error_dict.items():
                field = self.field_for(path)
                if field is not None and field in self.errors:
                    continue  # its own message says what is wrong already
                self.add_rule_error(path, field, messages)
        else:
            cleaned["details"] = details
            cleaned["reason"] = reason
        return cleaned

    def add_rule_error(self, path: str, field: str | None, messages: list) -> None:
        self.add_error(field, messages)

    def answers(self) -> dict:
        """Return the type's answers for `withdrawal_request_submit`."""
        return {
            "request_type": self.request_type,
            "reason": self.cleaned_data.get("reason", ""),
            "acknowledgement": bool(self.cleaned_data.get("acknowledgement")),
            "details": self.cleaned_data["details"],
        }


def _reason_field(label, help_text=""):
    return forms.CharField(
        label=label,
        required=False,
        max_length=REASON_MAX,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[validate_visible_multiline_text],
    )


class AccessRequestForm(RequestTypeForm):
    request_type = RequestType.ACCESS
    detail_fields = {"details.question": "question"}

    question = forms.CharField(
        label=_("What do you most want to know? (optional)"),
        required=False,
        max_length=QUESTION_MAX,
        help_text=_(
            "For example: who my data was passed to. Whatever you write, the answer covers all the data "
            "Alilo and each of its services hold about you."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[validate_visible_multiline_text],
    )

    def details_from(self, cleaned: dict) -> dict:
        return {"question": cleaned.get("question", "")}


class CorrectionRequestForm(RequestTypeForm):
    """Up to CORRECTIONS_MAX lines: which data, what is wrong, what it should be."""

    request_type = RequestType.CORRECTION
    rows = range(1, CORRECTIONS_MAX + 1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number in self.rows:
            self.fields[f"correction_{number}_field"] = forms.ChoiceField(
                label=_("Which data"),
                required=False,
                choices=[("", _("Choose…")), *CorrectableField.choices],
            )
            self.fields[f"correction_{number}_current"] = forms.CharField(
                label=_("What is wrong"),
                required=False,
                max_length=VALUE_MAX,
                help_text=_("Leave it empty if the data is missing and you want to add it."),
                validators=[validate_visible_text],
            )
            self.fields[f"correction_{number}_correct"] = forms.CharField(
                label=_("What it should be"),
                required=False,
                max_length=VALUE_MAX,
                validators=[validate_visible_text],
            )
        names = [name for name in self.fields if name not in (TRAP_FIELD, "submission_token")]
        self.order_fields([*names, TRAP_FIELD, "submission_token"])

    def correction_rows(self) -> list[dict]:
        """Return each line's number and three bound fields, for the template."""
        return [
            {"number": number, "fields": [self[f"correction_{number}_{key}"] for key in CORRECTION_KEYS]}
            for number in self.rows
        ]

    def more_rows_open(self) -> bool:
        """Whether the lines after the first are shown: when one of them is filled in or in error."""
        names = [f"correction_{number}_{key}" for number in self.rows[1:] for key in CORRECTION_KEYS]
        return any(name in self.errors or self.data.get(name) for name in names)

    def details_from(self, cleaned: dict) -> dict:
        return {
            "corrections": [
                {key: cleaned.get(f"correction_{number}_{key}", "") for key in CORRECTION_KEYS}
                for number in self.rows
            ]
        }

    def field_for(self, path: str) -> str | None:
        if path == "details.corrections":
            return "correction_1_field"
        parts = path.split(".")
        if len(parts) == 4 and parts[1] == "corrections" and parts[2].isdigit():
            number = int(parts[2]) + 1
            if number in self.rows and parts[3] in CORRECTION_KEYS:
                return f"correction_{number}_{parts[3]}"
            return None
        if len(parts) == 3 and parts[1] == "corrections" and parts[2].isdigit():
            number = int(parts[2]) + 1
            return f"correction_{number}_field" if number in self.rows else None
        return super().field_for(path)

    def add_rule_error(self, path: str, field: str | None, messages: list) -> None:
        if path == "details.corrections":  # about the whole list, not its first line
            forms.Form.add_error(self, field, messages)
        else:
            self.add_error(field, messages)

    def add_error(self, field, error):
        # "Correction 2: Write what it should be." reads clearly in the error summary too.
        if field and field.startswith("correction_") and isinstance(error, list | forms.ValidationError):
            number = field.split("_")[1]
            errors = error if isinstance(error, list) else [error]
            error = [
                forms.ValidationError(
                    _("Correction %(number)s: %(message)s") % {"number": number, "message": message}
                )
                for item in errors
                for message in forms.ValidationError(item).messages
            ]
        super().add_error(field, error)


class BlockingRequestForm(RequestTypeForm):
    request_type = RequestType.BLOCKING
    detail_fields = {"details.grounds": "grounds"}

    grounds = forms.ChoiceField(
        label=_("Why should we block your data?"),
        required=False,
        choices=BlockingGrounds.choices,
        widget=forms.RadioSelect,
    )
    reason = _reason_field(
        _("Tell us more"),
        _("What is inaccurate, or what is unlawful about the processing. Required for another reason."),
    )

    def details_from(self, cleaned: dict) -> dict:
        return {"grounds": cleaned.get("grounds", "")}


class DestructionRequestForm(RequestTypeForm):
    request_type = RequestType.DESTRUCTION
    detail_fields = {"details.grounds": "grounds"}

    grounds = forms.ChoiceField(
        label=_("Why should we destroy your data?"),
        required=False,
        choices=DestructionGrounds.choices,
        widget=forms.RadioSelect,
    )
    reason = _reason_field(_("Tell us more"), _("Required for another reason."))
    acknowledgement = forms.BooleanField(
        label=_(
            "I understand that destroying my data ends my user agreement with Alilo, so I will no longer be "
            "able to use its services, and that Alilo keeps only what the law requires it to keep, for as "
            "long as the law requires."
        ),
        required=False,
    )

    def details_from(self, cleaned: dict) -> dict:
        return {"grounds": cleaned.get("grounds", "")}


class ObjectionRequestForm(RequestTypeForm):
    request_type = RequestType.OBJECTION
    detail_fields = {"details.decision": "decision"}

    decision = forms.CharField(
        label=_("Which automated decision or processing do you object to?"),
        required=False,
        max_length=DECISION_MAX,
        help_text=_("For example: my order was refused automatically, or the prices I am shown."),
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_visible_multiline_text],
    )
    reason = _reason_field(_("Why do you object?"))

    def details_from(self, cleaned: dict) -> dict:
        return {"decision": cleaned.get("decision", "")}


REQUEST_FORMS = {
    form.request_type: form
    for form in (
        AccessRequestForm,
        CorrectionRequestForm,
        BlockingRequestForm,
        DestructionRequestForm,
        ObjectionRequestForm,
    )
}


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

    def __init__(self, *args, request_type: str = RequestType.WITHDRAWAL, **kwargs):
        super().__init__(*args, **kwargs)
        if request_type != RequestType.WITHDRAWAL:
            self.fields["confirm"].label = _("Yes, cancel my request. I understand that nothing changes.")


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
            if choice[0] not in (WithdrawalRequest.Channel.WEB, WithdrawalRequest.Channel.API)
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
