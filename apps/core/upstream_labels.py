"""Translated names for what django-axes and django-otp show staff in the admin, in the active language.

Those packages give their apps no verbose name (the admin shows "AXES" and "OTP_TOTP") and django-otp marks
none of its labels for translation ("TOTP device", its help texts). Here, once the apps are loaded, the names
become lazy translations: the upstream help texts keep their English msgids (translated in our catalogue,
listed in locale_overrides.OTP), so the migration state, which compares the text, sees no change; the field
labels are set on the field only (not on its constructor arguments), which migrations do not read.
"""

from django.apps import apps
from django.utils.translation import gettext_lazy as _

APP_NAMES = {
    "axes": _("Log-in attempts"),
    "otp_totp": _("Two-factor authentication"),
    "django_otp": _("Two-factor authentication"),
}

TOTP_FIELD_LABELS = {
    "user": _("staff member"),
    "name": _("device name"),
    "confirmed": _("confirmed"),
    "created_at": _("created"),
    "last_used_at": _("last used"),
    "key": _("secret key"),
    "step": _("time step"),
    "t0": _("start time (t0)"),
    "digits": _("digits"),
    "tolerance": _("tolerance"),
    "drift": _("clock drift"),
    "last_t": _("last time step"),
    "throttling_failure_timestamp": _("last failed attempt"),
    "throttling_failure_count": _("failed attempts in a row"),
}


def upstream_labels_apply() -> None:
    """Give the third-party apps and django-otp's TOTP device translated names (called from ready())."""
    for label, name in APP_NAMES.items():
        if apps.is_installed(_module_of(label)):
            apps.get_app_config(label).verbose_name = name
    if not apps.is_installed("django_otp.plugins.otp_totp"):
        return
    model = apps.get_model("otp_totp", "TOTPDevice")
    model._meta.verbose_name = _("TOTP device")
    model._meta.verbose_name_plural = _("TOTP devices")
    for field in model._meta.get_fields():
        if field.name in TOTP_FIELD_LABELS:
            field.verbose_name = TOTP_FIELD_LABELS[field.name]
        if getattr(field, "help_text", ""):
            # The upstream text is the msgid: locale_overrides.OTP lists each one for the catalogue.
            field.help_text = _(str(field.help_text))


def _module_of(label: str) -> str:
    return {"axes": "axes", "otp_totp": "django_otp.plugins.otp_totp", "django_otp": "django_otp"}[label]
