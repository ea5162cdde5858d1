"""Thin task wrappers. A failed attempt stays pending with its backoff; the beat sweep retries it when due."""

from celery import shared_task

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
