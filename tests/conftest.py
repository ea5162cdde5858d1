import pytest
from django.core.cache import cache

from tests.support.fake_esp import FakeESP

pytest_plugins = ["tests.support.worker", "tests.support.browser"]


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake_esp():
    """A local HTTP server that speaks Postmark's send API and can be told to fail."""
    server = FakeESP()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def reference_services(db):
    """Start reference connected services (tests/support/reference_service.py): call it with a name and a
    mode (now, later, timeout, down, failed); each is registered as an active ConnectedService and stopped
    at the end of the test."""
    from tests.support.reference_service import reference_service_start

    started = []

    def start(**options):
        running = reference_service_start(**options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def reference_service(reference_services):
    """One reference connected service answering at once ("now"); set `.mode` to change how it answers."""
    return reference_services()
