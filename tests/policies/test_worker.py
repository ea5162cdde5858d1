from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications.models import OutboxEmail
from apps.policies.models import PolicyVersion
from apps.policies.services import policy_version_publish
from tests.accounts.factories import UserFactory
from tests.policies.factories import PolicyVersionFactory
from tests.support.servers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_publication_reaches_every_active_user_through_a_real_worker(celery_worker_factory, fake_esp):
    past = timezone.now() - timedelta(days=2)
    users = [UserFactory(date_joined=past, language=lang) for lang in ["kk", "ru", "en"] * 4]
    UserFactory(date_joined=past, agreement_status="ended", agreement_ended_at=past)
    celery_worker_factory(fake_esp.environ())
    PolicyVersionFactory(published=True, number=1)
    version = policy_version_publish(version=PolicyVersionFactory(number=2), actor=None)

    wait_for(lambda: PolicyVersion.objects.get(pk=version.pk).announced_at, timeout=60)
    wait_for(
        lambda: (
            OutboxEmail.objects.filter(template="policy_announcement", status="sent").count() == len(users)
        ),
        timeout=60,
    )
    assert sorted(m["To"] for m in fake_esp.received) == sorted(u.email for u in users)
    message = fake_esp.sent_to(users[2].email)[0]
    assert "/privacy/accept/2/" in message["TextBody"]
    assert "/privacy_policy/diff/1/2/" in message["HtmlBody"]
