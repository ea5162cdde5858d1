"""Thin task wrappers around the breach services."""

from celery import shared_task

from . import services
from .models import BreachNotice


@shared_task(name="breaches.notice_send", acks_late=True)
def breach_notice_send(notice_id: int) -> int:
    notice = BreachNotice.objects.filter(pk=notice_id).first()
    return services.breach_notice_fanout(notice=notice) if notice else 0


@shared_task(name="breaches.notices_resume", acks_late=True)
def breach_notices_resume() -> list[int]:
    return services.breach_notices_resume()


@shared_task(name="breaches.send_digest", acks_late=True)
def breach_digest_send() -> bool:
    return services.breach_digest_send() is not None
