"""Thin task wrappers around the policy services."""

from celery import shared_task
from django.conf import settings

from . import services
from .models import PolicyVersion


@shared_task(name="policies.announce", acks_late=True)
def policy_announce(version_id: int) -> int:
    version = PolicyVersion.objects.filter(pk=version_id).first()
    if version is None:
        return 0
    return services.policy_announcement_fanout(
        version=version, chunk_ids=settings.POLICY_ANNOUNCEMENT_CHUNK_SIZE
    )


@shared_task(name="policies.announce_resume", acks_late=True)
def policy_announce_resume() -> list[int]:
    return services.policy_announcements_resume()
