from django import forms

from apps.core.validators import (
    validate_formatted_text,
    validate_visible_multiline_text,
    validate_visible_text,
)

from .models import PolicyText


class PolicyTextForm(forms.ModelForm):
    """A draft's text in one language as staff write it in the admin.

    The body may carry invisible formatting a long text needs; the title and the summary of changes, which
    emails and banners repeat, are plain visible text.
    """

    class Meta:
        model = PolicyText
        fields = ["language", "title", "summary", "body"]

    def has_changed(self):
        # A new version's text copied from the version in force is kept even if staff leave it as it is.
        if self.instance.pk is None and self.initial.get("body"):
            return True
        return super().has_changed()

    def clean_title(self):
        title = self.cleaned_data["title"]
        validate_visible_text(title)
        return title

    def clean_summary(self):
        summary = self.cleaned_data["summary"]
        validate_visible_multiline_text(summary)
        return summary

    def clean_body(self):
        body = self.cleaned_data["body"]
        validate_formatted_text(body)
        return body
