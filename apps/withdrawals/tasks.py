"""Thin task wrappers for the daily withdrawal sweeps."""

from celery import shared_task

from . import services


@shared_task(name="withdrawals.send_due_digest", acks_late=True)
def send_due_digest() -> bool:
    return services.withdrawal_due_digest_send() is not None


@shared_task(name="withdrawals.purge_unverified", acks_late=True)
def purge_unverified() -> int:
    return services.withdrawal_unverified_purge()


@shared_task(name="withdrawals.access_packages_erase", acks_late=True)
def access_packages_erase() -> int:
    return services.access_packages_erase_expired()
