import pytest
from django.core.management import call_command

from apps.policies.models import PolicyVersion
from config.celery import app as celery_app


@pytest.fixture
def policy_in_force(transactional_db):
    """The shipped policy, loaded and published as `make run` does on a new database: version 1."""
    call_command("load_shipped_policy", verbosity=0)
    return PolicyVersion.objects.get(number=1)


@pytest.fixture(autouse=True)
def _broker_emptied():
    """Drop what the flow queued: no worker runs here, the flows call the tasks themselves."""
    yield
    celery_app.control.purge()


@pytest.fixture
def worker_tasks():
    """The tasks a worker registers when it starts (autodiscovered in every app), by name."""
    celery_app.loader.import_default_modules()
    return celery_app.tasks
