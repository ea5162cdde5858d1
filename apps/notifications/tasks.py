"""Thin task wrappers. A failed attempt stays pending with its backoff; the beat sweep retries it when due."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="notifications.outbox_deliver", acks_late=True)
def outbox_deliver(email_id: int) -> None:
    outbox_deliver_batch(email_ids=[email_id])


@shared_task(name="notifications.outbox_deliver_batch", acks_late=True)
def outbox_deliver_batch(email_ids: list[int]) -> None:
    services.outbox_emails_deliver(email_ids=email_ids)


@shared_task(name="notifications.outbox_sweep", acks_late=True)
def outbox_sweep() -> dict:
    return services.outbox_sweep()


@shared_task(
    bind=True,
    name="notifications.webhook_deliver",
    acks_late=True,
    max_retries=settings.WEBHOOK_MAX_ATTEMPTS,
)
def webhook_deliver(self, delivery_id: int) -> None:
    wait = services.webhook_delivery_attempt(delivery_id=delivery_id)
    if wait is not None:
        # The row keeps its own next attempt: if this retry is lost, the beat sweep makes it.
        raise self.retry(countdown=wait.total_seconds())


@shared_task(name="notifications.webhook_sweep", acks_late=True)
def webhook_sweep() -> dict:
    return services.webhook_sweep()
