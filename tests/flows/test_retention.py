"""Retention (policy clause 2.4): an agreement ended by a granted withdrawal is erased three years later."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from apps.acceptances.models import Acceptance
from apps.accounts.roles import PRIVACY_OFFICER
from apps.accounts.services import user_agreement_end
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.withdrawals import services as withdrawals
from apps.withdrawals.models import WithdrawalRequest
from tests.accounts.factories import UserFactory
from tests.roles.conftest import member

from .support import Visitor, deliver_emails, sign_up, travel
from .test_withdrawal import file_withdrawal

pytestmark = pytest.mark.django_db(transaction=True)


def test_account_whose_agreement_ended_over_three_years_ago_is_erased_and_the_rest_is_kept(
    policy_in_force, worker_tasks
):
    visitor, user = sign_up("aigul@example.kz", full_name="Aigul Seitkali")
    file_withdrawal(visitor)
    withdrawal = WithdrawalRequest.objects.get()
    officer = member(PRIVACY_OFFICER, email="officer@alilo.kz")
    withdrawals.withdrawal_request_review_start(withdrawal=withdrawal, actor=officer)
    withdrawals.withdrawal_request_grant(withdrawal=withdrawal, actor=officer)
    deliver_emails()
    user.refresh_from_db()
    assert user.agreement_status == "ended"
    ended = user.agreement_ended_at
    later = UserFactory(email="later@example.kz")
    user_agreement_end(user=later, at=ended + timedelta(days=5))
    staying = UserFactory(email="staying@example.kz")
    task = worker_tasks["accounts.retention_erase"]

    with travel(ended + timedelta(days=3 * 365 + 2)):  # three years (one 29 February) and a day on
        assert task.apply(throw=True).get() == 1
        assert task.apply(throw=True).get() == 0
        refused = Visitor().log_in("aigul@example.kz")
        assert refused.path == "/accounts/login/" and "The email or password is wrong." in refused

    user.refresh_from_db()
    assert user.email == f"erased-{user.pk}@erased.invalid" and user.erased_at is not None
    assert (user.full_name, str(user.phone), user.is_active, user.has_usable_password()) == (
        "",
        "",
        False,
        False,
    )
    assert user.agreement_ended_at == ended
    acceptance = Acceptance.objects.get(user=user)
    assert (acceptance.ip, acceptance.user_agent) == (None, "")
    assert acceptance.method == "signup" and acceptance.text_sha256  # what was accepted stays as evidence
    withdrawal.refresh_from_db()
    assert (withdrawal.email, withdrawal.full_name, withdrawal.ip) == ("erased@erased.invalid", "", None)
    assert withdrawal.status == "granted" and withdrawal.reference
    assert not OutboxEmail.objects.filter(to="aigul@example.kz").exists()
    assert AuditEvent.objects.filter(action="retention.erase", target_id=str(user.pk)).count() == 1
    User = get_user_model()
    for kept in (later, staying):
        assert User.objects.get(pk=kept.pk).erased_at is None
    assert User.objects.get(pk=later.pk).email == "later@example.kz"
