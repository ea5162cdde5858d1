import json

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _


def _no_constant(name: str):
    raise ValueError(name)


def record_file_read(data: bytes) -> object:
    """Return the JSON value in `data` (UTF-8, standard JSON only), or raise forms.ValidationError."""
    if len(data) > settings.CONSENT_RECORD_MAX_BYTES:
        raise forms.ValidationError(
            _("The file is too large. A consent record is at most %(size)s.")
            % {"size": filesizeformat(settings.CONSENT_RECORD_MAX_BYTES)}
        )
    try:
        return json.loads(data.decode("utf-8-sig"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError
        raise forms.ValidationError(
            _("The file is not a consent record: it must be the JSON file downloaded from the portal.")
        ) from exc


class RecordUploadForm(forms.Form):
    record = forms.FileField(
        label=_("Consent record file"),
        help_text=_("The .json file you downloaded from “My privacy”."),
        error_messages={
            "required": _("Choose the consent record file to check."),
            "empty": _("The file is empty."),
            "invalid": _("The file could not be read. Choose it again."),
        },
    )

    def clean_record(self):
        upload = self.cleaned_data["record"]
        if upload.size > settings.CONSENT_RECORD_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large. A consent record is at most %(size)s.")
                % {"size": filesizeformat(settings.CONSENT_RECORD_MAX_BYTES)}
            )
        return record_file_read(upload.read(settings.CONSENT_RECORD_MAX_BYTES + 1))
