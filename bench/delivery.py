"""Announcement delivery through a real Celery worker vs rendering and sending in a plain loop."""

import json
import time

from bench.common import VAR, Row, bench_env, reset_tables
from tests.support.servers import Worker

TEMPLATE = "password_reset"
CONTEXT = {"full_name": "Bench User", "reset_path": "/accounts/reset/x/y/"}


def _insert_rows(count: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO notifications_outboxemail (dedup_key, topic, object_id, template, "to", reply_to,
                language, context, status, attempts, last_error, provider_message_id, tracking_status,
                tracking_detail, created_at, updated_at)
            SELECT 'bench:' || g, '', NULL, %s, 'user' || g || '@bench.kz', '', 'kk', %s::jsonb, 'pending', 0,
                   '', '', '', '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [TEMPLATE, json.dumps(CONTEXT), count],
        )


def _start_worker() -> Worker:
    from config.celery import app

    app.control.purge()
    env = bench_env(EMAIL_BACKEND="anymail.backends.test.EmailBackend")
    return Worker(env, log_path=VAR / "bench-worker.log", name="bench", concurrency=2).start()


def run(size: dict) -> list[Row]:
    from django.test import override_settings

    from apps.notifications.models import OutboxEmail
    from apps.notifications.services import _render
    from apps.notifications.tasks import outbox_deliver_batch

    count = size["emails"]
    VAR.mkdir(exist_ok=True)

    # Baseline: render and send the same emails in one process, no outbox bookkeeping.
    reset_tables("notifications_outboxemail")
    _insert_rows(count)
    rows = list(OutboxEmail.objects.order_by("id"))
    with override_settings(EMAIL_BACKEND="anymail.backends.test.EmailBackend"):
        start = time.perf_counter()
        for email in rows:
            _render(email).send()
        baseline_seconds = time.perf_counter() - start

    # Ours: the outbox rows delivered by a real worker through the broker.
    reset_tables("notifications_outboxemail")
    _insert_rows(count)
    worker = _start_worker()
    try:
        ids = list(OutboxEmail.objects.order_by("id").values_list("id", flat=True))
        start = time.perf_counter()
        for offset in range(0, len(ids), 100):
            outbox_deliver_batch.delay(ids[offset : offset + 100])
        while OutboxEmail.objects.filter(status="sent").count() < count:
            if time.perf_counter() - start > 300:
                raise RuntimeError("delivery did not finish; see var/bench-worker.log")
            time.sleep(0.1)
        ours_seconds = time.perf_counter() - start
    finally:
        worker.stop()

    ours, baseline = count / ours_seconds, count / baseline_seconds
    ratio = ours / baseline
    return [
        Row(
            "announcement delivery (worker)",
            ours,
            baseline,
            "emails/s",
            ratio,
            ">= 0.5",
            ratio >= 0.5,
            note=f"{count} emails",
        )
    ]
