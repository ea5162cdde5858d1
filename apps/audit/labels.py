"""Readable, translated names of the audit actions; the stored codes stay as they are."""

from django.apps import apps
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "account.signup": _("Account created"),
    "account.signup_attempt": _("Sign-up with an address already registered"),
    "account.email_verified": _("Email address confirmed"),
    "account.update": _("Account details changed"),
    "account.two_factor_enabled": _("Two-factor authentication set up"),
    "account.consent_withdrawn": _("Consent withdrawn"),
    "account.agreement_ended": _("User agreement ended"),
    "account.view": _("Account viewed"),
    "account.correct": _("Account details corrected on request"),
    "account.block": _("Processing of the person's data blocked"),
    "account.unblock": _("Blocking of the person's data lifted"),
    "account.automated_processing_object": _("Objection to automated processing recorded"),
    "account.erase": _("Data destroyed on request"),
    "retention.erase": _("Data erased after the retention period"),
    "policy.draft_create": _("Policy draft created"),
    "policy.text_create": _("Policy text saved"),
    "policy.text_delete": _("Policy text deleted"),
    "policy.draft_delete": _("Policy draft deleted"),
    "policy.publish": _("Policy version published"),
    "policy.remind": _("Policy reminders sent"),
    "acceptance.record": _("Policy accepted"),
    "acceptance.implicit_sweep": _("Acceptances by continued use recorded"),
    "acceptance.view": _("Acceptance evidence viewed"),
    "service_token.create": _("API token created"),
    "service_token.revoke": _("API token revoked"),
    "outbox.resend": _("Email sent again"),
    "withdrawal.submit": _("Withdrawal request submitted"),
    "withdrawal.verify": _("Withdrawal request confirmed"),
    "withdrawal.cancel": _("Withdrawal request cancelled"),
    "withdrawal.assign": _("Request assigned"),
    "withdrawal.review_start": _("Review of a request started"),
    "withdrawal.information_request": _("Information asked from the requester"),
    "withdrawal.information_provide": _("Requester answered"),
    "withdrawal.grant": _("Request granted"),
    "withdrawal.refuse": _("Request refused"),
    "withdrawal.note": _("Internal note added"),
    "withdrawal.view": _("Request viewed"),
    "withdrawal.unblock": _("Blocking lifted"),
    "withdrawal.closing_letter": _("Closing letter sent"),
    "withdrawal.support_access_grant": _("Contact details shown to Support"),
    "withdrawal.support_access_revoke": _("Contact details hidden from Support"),
    "withdrawal.purge_unverified": _("Unconfirmed withdrawal requests deleted"),
    "admin.list": _("List viewed"),
    "admin.view": _("Record viewed"),
    "admin.history": _("History viewed"),
    "admin.delete_confirm": _("Deletion page viewed"),
    "admin.lookup_refused": _("Search refused"),
    "export.csv": _("CSV export"),
}


def action_label(code: str) -> str:
    """Return the translated name of an action code, or the code itself if it has none."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def target_type_label(label_lower: str) -> str:
    """Return the model's verbose name for an `app_label.modelname` target type, or the type itself."""
    if not label_lower:
        return ""
    try:
        model = apps.get_model(label_lower)
    except (LookupError, ValueError):
        return label_lower
    return str(model._meta.verbose_name)
