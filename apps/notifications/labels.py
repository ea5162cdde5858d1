"""Readable, translated names of the email templates; the outbox stores the codes."""

from django.utils.translation import gettext_lazy as _

TEMPLATE_LABELS = {
    "access_package_link": _("Link to download a data package"),
    "access_package_released": _("Data package ready to download"),
    "blocking_granted": _("Blocking granted"),
    "blocking_lifted": _("Blocking lifted"),
    "breach_digest": _("Breaches awaiting notice to the authority"),
    "breach_notice": _("Notice of a breach to the people affected"),
    "breach_recorded": _("Breach recorded"),
    "account_signup_attempt": _("Sign-up with a registered address"),
    "account_verify_email": _("Confirm your email address"),
    "correction_granted": _("Correction granted"),
    "destruction_closing": _("Closing letter after destruction"),
    "objection_granted": _("Objection granted"),
    "password_reset": _("Password reset"),
    "policy_announcement": _("New policy version"),
    "policy_reminder": _("Policy acceptance reminder"),
    "withdrawal_application": _("Written application to the privacy mailbox"),
    "withdrawal_cancelled": _("Cancellation confirmed to the requester"),
    "withdrawal_confirm": _("Confirm a withdrawal request"),
    "withdrawal_due_digest": _("Requests due soon or overdue"),
    "withdrawal_granted": _("Withdrawal granted"),
    "withdrawal_information_requested": _("Information requested"),
    "withdrawal_received": _("Withdrawal request received"),
    "withdrawal_refused": _("Withdrawal refused"),
    "withdrawal_staff_update": _("Update for the privacy office"),
    "withdrawal_third_party": _("Notice to a third party"),
}


def template_label(code: str) -> str:
    """Return the translated name of an email template code, or the code itself if it has none."""
    label = TEMPLATE_LABELS.get(code)
    return str(label) if label is not None else code
