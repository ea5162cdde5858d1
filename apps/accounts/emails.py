"""The emails of an account, built as outbox rows (unsaved); the services queue them with the change that
causes them. Every one is about the account: topic "account", object the account's id.

None of them greets by name: the name was typed by whoever signed up, who may not own the address.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_email_build

from .tokens import email_verify_token_make

TOPIC = "account"


def email_verification(user) -> OutboxEmail:
    """The link that confirms the account's address, in the account's language."""
    token = email_verify_token_make(user)
    return outbox_email_build(
        to=user.email,
        template="account_verify_email",
        language=user.language,
        context={
            "verify_path": reverse("accounts:verify_email", args=[token]),
            "hours": settings.ACCOUNT_VERIFY_HOURS,
        },
        topic=TOPIC,
        object_id=user.pk,
        dedup_key=f"account-verify:{user.pk}:{token}",
        user=user,
    )


def signup_attempt(user) -> OutboxEmail:
    """Tell the owner of an address that someone tried to sign up with it; at most one a day."""
    today = timezone.localdate().isoformat()
    return outbox_email_build(
        to=user.email,
        template="account_signup_attempt",
        language=user.language,
        context={
            "login_path": reverse("accounts:login"),
            "reset_path": reverse("accounts:password_reset"),
        },
        topic=TOPIC,
        object_id=user.pk,
        dedup_key=f"account-signup-attempt:{user.pk}:{today}",
        user=user,
    )
