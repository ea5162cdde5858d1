from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.acceptances import tasks
from apps.acceptances.models import Acceptance
from tests.accounts.factories import UserFactory
from tests.support.servers import wait_for

from .conftest import publish


def test_beat_schedule_runs_the_sweep_and_the_reminders():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"acceptances.implicit_sweep", "acceptances.send_reminders"} <= tasks_scheduled
    assert tasks.implicit_sweep.name == "acceptances.implicit_sweep"


@pytest.mark.django_db
def test_sweep_task_records_implicit_acceptances():
    publish(published_at=timezone.now() - timedelta(days=10))
    user = UserFactory(last_used_at=timezone.now() - timedelta(minutes=1))
    assert tasks.implicit_sweep()["created"] == 1
    assert Acceptance.objects.get().user == user


@pytest.mark.worker
def test_real_worker_runs_the_sweep(celery_worker_factory):
    publish(published_at=timezone.now() - timedelta(days=10))
    user = UserFactory(last_used_at=timezone.now() - timedelta(minutes=1))
    celery_worker_factory()
    tasks.implicit_sweep.delay()
    acceptance = wait_for(lambda: Acceptance.objects.filter(user=user).first())
    assert acceptance.method == "implicit" and acceptance.used_at == user.last_used_at
