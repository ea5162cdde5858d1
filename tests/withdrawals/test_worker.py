"""A real Celery worker delivers the written application, reply-to the requester; beat entries exist."""

import pytest
from django.conf import settings

from apps.notifications.models import OutboxEmail
from tests.support.servers import wait_for
from tests.withdrawals.factories import verified


def test_beat_runs_the_withdrawal_sweeps_daily():
    from config.celery import app

    app.loader.import_default_modules()
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"withdrawals.send_due_digest", "withdrawals.purge_unverified"} <= tasks
    assert {"withdrawals.send_due_digest", "withdrawals.purge_unverified"} <= set(app.tasks)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_delivers_the_application_and_receipt(celery_worker_factory, fake_esp, settings):
    celery_worker_factory(fake_esp.environ())
    withdrawal = verified(email="aigerim@example.kz")
    wait_for(lambda: fake_esp.sent_to("info@alilo.kz") and fake_esp.sent_to("aigerim@example.kz"))
    application = fake_esp.sent_to("info@alilo.kz")[0]
    assert withdrawal.reference in application["Subject"]
    assert application["ReplyTo"] == "aigerim@example.kz"
    wait_for(
        lambda: (
            OutboxEmail.objects.filter(
                dedup_key__startswith=f"withdrawal:{withdrawal.pk}:", status="sent"
            ).count()
            == 3
        )
    )
