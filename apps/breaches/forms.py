import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Breach, BreachNotice
from .services import AMENDABLE


def moment_field(label) -> forms.DateTimeField:
    """A date and time in one labelled input (Almaty time), as the withdrawal register takes it."""
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"],
        help_text=_("Almaty time, for example 03.06.2026 10:30."),
    )


class BreachForm(forms.ModelForm):
    discovered_at = moment_field(_("discovered at"))

    class Meta:
        model = Breach
        fields = ["discovered_at", "description", "data_categories", "people_affected", "measures"]


class AuthorityNoticeForm(forms.Form):
    notified_at = moment_field(_("Authority notified at"))
    method = forms.ChoiceField(label=_("How the authority was notified"), choices=Breach.Method.choices)
    reference = forms.CharField(label=_("Authority's reference"), max_length=100, required=False)
    letter = forms.FileField(
        label=_("Letter sent (PDF, JPEG or PNG)"), required=False, help_text=_("Kept with the breach.")
    )


class AmendForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), choices=[(name, name) for name in AMENDABLE])
    value = forms.CharField(label=_("New value"), widget=forms.Textarea(attrs={"rows": 3}))
    reason = forms.CharField(label=_("Reason for the amendment"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [
            (name, Breach._meta.get_field(name).verbose_name) for name in AMENDABLE
        ]

    def clean(self):
        data = super().clean()
        name, value = data.get("field"), data.get("value")
        if name and value is not None:
            model_field = Breach._meta.get_field(name)
            try:
                data["value"] = (
                    forms.DateTimeField().clean(value)
                    if model_field.get_internal_type() == "DateTimeField"
                    else model_field.to_python(value.strip())
                )
            except forms.ValidationError as error:
                self.add_error("value", error)
        return data


class NoticeForm(forms.ModelForm):
    user_ids_text = forms.CharField(
        label=_("User ids"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a list: the user ids, separated by spaces, commas or new lines."),
    )

    class Meta:
        model = BreachNotice
        fields = ["audience", "joined_from", "joined_to", "subject_kk", "body_kk", "subject_ru", "body_ru"]
        widgets = {"audience": forms.RadioSelect}

    def clean_user_ids_text(self):
        text = self.cleaned_data.get("user_ids_text", "")
        parts = [part for part in re.split(r"[\s,;]+", text) if part]
        if any(not part.isdigit() or len(part) > 18 for part in parts):
            raise forms.ValidationError(_("User ids are whole numbers, separated by spaces or commas."))
        if len(parts) > 100000:
            raise forms.ValidationError(_("Give at most 100,000 user ids."))
        return sorted({int(part) for part in parts})
