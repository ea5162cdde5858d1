from celery import shared_task

from . import services


@shared_task(name="accounts.retention_erase", acks_late=True)
def retention_erase() -> int:
    return services.retention_erase_expired()
