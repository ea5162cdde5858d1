"""A real Celery worker process against the real Redis broker and the test database."""

import os

import pytest
from django.conf import settings

from tests.support.servers import VAR, Worker, child_env, database_url


@pytest.fixture
def celery_worker_factory(transactional_db):
    """Start real worker processes; each is stopped at the end of the test."""
    from config.celery import app

    workers: list[Worker] = []

    def start(extra_env: dict[str, str] | None = None, concurrency: int = 1) -> Worker:
        app.control.purge()
        env = child_env(
            "config.settings.test",
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            CACHE_KEY_PREFIX=settings.CACHES["default"].get("KEY_PREFIX", ""),
            SITE_URL=settings.SITE_URL,
            **(extra_env or {}),
        )
        pid = os.getpid()
        worker = Worker(
            env, log_path=VAR / f"test-worker-{pid}.log", name=f"test-{pid}", concurrency=concurrency
        )
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
