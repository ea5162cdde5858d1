from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SERVICE_FIELDS, Action, ConnectedService, Field


def _formfield(db_field, **kwargs):
    if db_field.name == "endpoint_url":
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class ConnectedServiceForm(forms.ModelForm):
    """A service as staff register it: the secret is written, never shown back."""

    fields = forms.MultipleChoiceField(
        label=_("personal data it holds"),
        choices=Field.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A correction is passed to every service that holds the field corrected."),
    )
    actions = forms.MultipleChoiceField(
        label=_("what it can do"),
        choices=Action.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The portal calls the service only for what it can do."),
    )
    new_secret = forms.CharField(
        label=_("signing secret"),
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Written here, never shown again. Leave it empty to keep the current secret (or, for a new "
            "service, to have one made and shown once)."
        ),
    )

    class Meta:
        model = ConnectedService
        fields = SERVICE_FIELDS
        formfield_callback = _formfield

    def clean_new_secret(self):
        secret = self.cleaned_data["new_secret"]
        if secret and len(secret) < 24:
            raise forms.ValidationError(_("A signing secret has at least 24 characters."))
        return secret


class MarkDoneForm(forms.Form):
    note = forms.CharField(
        label=_("How was it done?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text=_(
            "Say what was done instead of the service's answer, and by whom, e.g. \"Exported by hand from "
            "the shop's database and attached to the answer.\""
        ),
    )
