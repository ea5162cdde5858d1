from celery import shared_task

from . import services


@shared_task(name="acceptances.implicit_sweep", acks_late=True)
def implicit_sweep() -> dict:
    return services.implicit_acceptance_sweep()


@shared_task(name="acceptances.send_reminders", acks_late=True)
def send_reminders() -> dict:
    return services.policy_reminders_send()
