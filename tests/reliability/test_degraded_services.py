"""Unit-sized proofs of the degraded modes the scenarios rely on: a cache without Redis, a 503 without the
database."""

import time

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path
from django_redis.cache import RedisCache

from config.urls import urlpatterns as portal_urls
from tests.support.servers import free_port

pytestmark = [pytest.mark.reliability]


def test_cache_without_redis_reads_as_empty_and_fails_fast(settings):
    options = {**settings.CACHES["default"]["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": options})
    started = time.monotonic()
    assert cache.get("key", "default") == "default"
    assert not cache.add("key", 1)
    cache.set("key", 1)
    assert cache.get_many(["a", "b"]) == {}
    assert not cache.has_key("key")
    assert cache.incr("key") is None  # django-ratelimit then fails open
    cache.delete("key")
    cache.clear()
    assert time.monotonic() - started < 10


def _database_down(request):
    raise OperationalError("connection refused")


def _bug(request):
    raise RuntimeError("a bug")


urlpatterns = [path("down/", _database_down), path("bug/", _bug), *portal_urls]
handler500 = "config.views.server_error"


@pytest.mark.urls(__name__)
def test_a_lost_database_answers_503_asking_to_try_again(db):
    client = Client(raise_request_exception=False)
    response = client.get("/down/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "nothing you sent was saved" in response.content.decode()


@pytest.mark.urls(__name__)
def test_other_errors_stay_500(db):
    response = Client(raise_request_exception=False).get("/bug/")
    assert response.status_code == 500
