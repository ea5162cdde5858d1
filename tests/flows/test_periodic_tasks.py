"""Every periodic task of the beat schedule, run by name through the Celery app as a worker runs it."""

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.acceptances.models import Acceptance
from apps.notifications.models import OutboxEmail, WebhookDelivery
from apps.notifications.services import outbox_email_queue, webhook_deliveries_queue, webhook_delivery_build
from apps.withdrawals.models import WithdrawalRequest
from tests.acceptances.conftest import publish
from tests.accounts.factories import UserFactory
from tests.withdrawals.factories import submit, verified

from .support import travel

pytestmark = pytest.mark.django_db(transaction=True)


def _email(key: str) -> OutboxEmail:
    return outbox_email_queue(
        to=f"{key}@example.kz",
        template="password_reset",
        language="en",
        context={"full_name": "Someone", "reset_path": "/accounts/reset/x/y/"},
        dedup_key=f"flows:{key}",
    )


def outbox_sweep():
    """An email whose delivery was never queued (the broker was down), and one a killed worker left."""
    waiting, stuck = _email("waiting"), _email("stuck")
    OutboxEmail.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    OutboxEmail.objects.filter(pk=stuck.pk).update(
        status=OutboxEmail.Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=20), attempts=1
    )

    def check(result):
        assert result == {"requeued": 1, "stuck": 1}
        assert OutboxEmail.objects.get(pk=stuck.pk).status == OutboxEmail.Status.FAILED
        assert OutboxEmail.objects.get(pk=waiting.pk).status == OutboxEmail.Status.PENDING

    return check


def webhook_sweep():
    """A webhook delivery never queued (the broker was down), and one a killed worker left mid-post."""
    deliveries = []
    for port in (9, 10):
        event_id = uuid.uuid4()
        deliveries += webhook_deliveries_queue(
            deliveries=[
                webhook_delivery_build(
                    event_id=event_id,
                    event_type="agreement.ended",
                    endpoint_id=1,
                    url=f"http://127.0.0.1:{port}/hook",
                    secret="whsec_x",
                    body=json.dumps({"id": str(event_id)}),
                )
            ]
        )
    waiting, stuck = deliveries
    long_ago = timezone.now() - timedelta(minutes=20)
    WebhookDelivery.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    WebhookDelivery.objects.filter(pk=stuck.pk).update(status="sending", claimed_at=long_ago, attempts=1)

    def check(result):
        assert result == {"requeued": 2, "stuck": 1, "failed": 0}
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}

    return check


def retention_erase():
    """An account whose agreement ended four years ago."""
    gone = UserFactory(agreement_status="ended", agreement_ended_at=timezone.now() - timedelta(days=4 * 365))

    def check(result):
        assert result == 1
        assert get_user_model().objects.get(pk=gone.pk).erased_at is not None

    return check


def announce_resume():
    """A version published ten minutes ago whose announcement never started."""
    version = publish(published_at=timezone.now() - timedelta(minutes=10))

    def check(result):
        assert result == [version.pk]

    return check


def due_digest():
    """A request registered a month ago and still open: overdue."""
    with travel(timezone.now() - timedelta(days=30)):
        late = verified(email="late@example.kz")

    def check(result):
        assert result is True
        digest = OutboxEmail.objects.get(template="withdrawal_due_digest")
        assert digest.to == settings.PRIVACY_MAILBOX
        assert late.reference in str(digest.context)

    return check


def purge_unverified():
    """A request whose email was never confirmed, filed eight days ago."""
    stale = submit(email="never@example.kz")
    WithdrawalRequest.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=8))
    fresh = submit(email="today@example.kz")

    def check(result):
        assert result == 1
        assert list(WithdrawalRequest.objects.values_list("pk", flat=True)) == [fresh.pk]

    return check


def access_packages_erase():
    """An access package built 31 days ago and never released, and one built today."""
    from apps.withdrawals.models import AccessPackage
    from tests.withdrawals.factories import access_request

    old = access_request(email="old@example.kz")
    AccessPackage.objects.filter(request=old).update(built_at=timezone.now() - timedelta(days=31))
    fresh = access_request(email="fresh@example.kz")

    def check(result):
        assert result == 1
        assert AccessPackage.objects.get(request=old).document == {}
        assert AccessPackage.objects.get(request=fresh).document["request"]["reference"] == fresh.reference

    return check


def implicit_sweep():
    """A version past its deadline and a member who used the service a minute ago."""
    version = publish(published_at=timezone.now() - timedelta(days=10))
    user = UserFactory(last_used_at=timezone.now() - timedelta(minutes=1))

    def check(result):
        assert result["created"] == 1
        acceptance = Acceptance.objects.get(version=version)
        assert (acceptance.user, acceptance.method, acceptance.used_at) == (
            user,
            "implicit",
            user.last_used_at,
        )

    return check


def send_reminders():
    """A version whose deadline is less than two days away and a member who has not accepted it."""
    version = publish(published_at=timezone.now() - timedelta(days=6))
    user = UserFactory()

    def check(result):
        assert result["status"] == "queued" and result["result"] == 1
        reminder = OutboxEmail.objects.get(template="policy_reminder")
        assert reminder.user == user and reminder.context["version_number"] == version.number

    return check


def _breach(*, hours_ago: int):
    from apps.breaches import services as breach_services
    from tests.roles.conftest import member

    officer = member("Privacy officer", email=f"officer{hours_ago}@alilo.kz")
    return officer, breach_services.breach_record(
        actor=officer,
        discovered_at=timezone.now() - timedelta(hours=hours_ago),
        description="A lost laptop",
        data_categories="Emails",
        people_affected=1,
    )


def breach_digest():
    """A breach found two days ago whose notice to the authority is not recorded."""
    _officer, breach = _breach(hours_ago=48)

    def check(result):
        assert result is True
        digest = OutboxEmail.objects.get(template="breach_digest")
        assert digest.to == settings.PRIVACY_MAILBOX and breach.reference in str(digest.context)

    return check


def breach_notices_resume():
    """A notice to the people affected saved ten minutes ago whose fan-out never started."""
    from apps.breaches import services as breach_services
    from apps.breaches.models import BreachNotice

    officer, breach = _breach(hours_ago=1)
    notice = breach_services.breach_notice_create(
        breach=breach,
        actor=officer,
        audience="all",
        subject_kk="Хабарлама",
        body_kk="Мәтін",
        subject_ru="Уведомление",
        body_ru="Текст",
    )
    BreachNotice.objects.filter(pk=notice.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    def check(result):
        assert result == [notice.pk]

    return check


def service_calls_sweep():
    """A call never queued (the broker was down), one a killed worker left mid-post, and one a service
    accepted hours ago without calling back; a call answered already is left alone."""
    from apps.connectors.models import ServiceCall
    from apps.connectors.services import service_calls_start
    from tests.connectors.factories import ConnectedServiceFactory

    for name in ("Never queued", "Left mid-post", "Silent", "Answered"):
        ConnectedServiceFactory(name=name, actions=["export"])
    calls = {call.service.name: call for call in service_calls_start(request=verified(), action="export")}
    long_ago = timezone.now() - timedelta(hours=5)
    ServiceCall.objects.filter(pk=calls["Never queued"].pk).update(created_at=long_ago)
    ServiceCall.objects.filter(pk=calls["Left mid-post"].pk).update(claimed_at=long_ago, attempts=1)
    ServiceCall.objects.filter(pk=calls["Silent"].pk).update(
        state="waiting", accepted_at=long_ago, attempts=1
    )
    ServiceCall.objects.filter(pk=calls["Answered"].pk).update(
        state="done", answered_at=long_ago, created_at=long_ago
    )

    def check(result):
        assert result == {"requeued": 3, "stuck": 1, "silent": 1}
        states = dict(ServiceCall.objects.values_list("service__name", "state"))
        assert states == {
            "Never queued": "queued",
            "Left mid-post": "queued",
            "Silent": "queued",
            "Answered": "done",
        }

    return check


WORK = {
    "connectors.service_calls_sweep": service_calls_sweep,
    "breaches.send_digest": breach_digest,
    "breaches.notices_resume": breach_notices_resume,
    "notifications.outbox_sweep": outbox_sweep,
    "notifications.webhook_sweep": webhook_sweep,
    "accounts.retention_erase": retention_erase,
    "policies.announce_resume": announce_resume,
    "withdrawals.send_due_digest": due_digest,
    "withdrawals.purge_unverified": purge_unverified,
    "withdrawals.access_packages_erase": access_packages_erase,
    "acceptances.implicit_sweep": implicit_sweep,
    "acceptances.send_reminders": send_reminders,
}


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_periodic_task_runs_by_name_and_does_its_work(entry, worker_tasks):
    name = settings.CELERY_BEAT_SCHEDULE[entry]["task"]
    assert name in WORK, f"{entry}: no flow gives the periodic task {name} work to do; add one to WORK"
    check = WORK[name]()

    result = worker_tasks[name].apply(throw=True)

    check(result.get())


def test_every_periodic_task_runs_on_an_empty_portal_without_error(worker_tasks):
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        worker_tasks[entry["task"]].apply(throw=True)
    assert not OutboxEmail.objects.exists() and not Acceptance.objects.exists()
