"""Thin task wrappers. A failed post keeps its next attempt; the beat sweep makes it if a retry is lost."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(
    bind=True,
    name="connectors.service_call_dispatch",
    acks_late=True,
    max_retries=settings.SERVICE_CALL_TASK_RETRIES,
)
def service_call_dispatch(self, call_id: int) -> None:
    wait = services.service_call_attempt(call_pk=call_id)
    if wait is not None and self.request.retries < self.max_retries:
        # No ETA beyond the broker's visibility timeout: the backoff is capped well below it.
        raise self.retry(countdown=wait.total_seconds())


@shared_task(name="connectors.service_calls_sweep", acks_late=True)
def service_calls_sweep() -> dict:
    return services.service_calls_sweep()
