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
