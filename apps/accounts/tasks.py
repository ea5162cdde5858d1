from celery import shared_task

from . import services


@shared_task(name="accounts.retention_erase", acks_late=True)
def retention_erase() -> int:
    """Erase the accounts due for erasure (returns how many), then the other retention sweeps."""
    erased = services.retention_erase_expired()
    services.retention_sweeps_run()
    return erased
