"""Two beat processes on one Redis, as when a second one is started by mistake: periodic work is sent once.

RedBeat keeps the schedule in Redis under a lock: the beat that holds it sends, the other waits. When the
sender dies (SIGKILL), the lock runs out (BEAT_LOCK_SECONDS) and the other takes over with the same schedule.
No worker runs, so every task beat sends stays in the broker's queue, where the test counts it.
"""

import json
from collections import Counter

import pytest
import redis
from django.conf import settings

from tests.support.servers import Beat, database_url, wait_for

from .support import VAR, app_env, record

pytestmark = [pytest.mark.reliability]

FAST_SECONDS = 1
LOCK_SECONDS = 3


def queued_tasks(server) -> Counter:
    """The tasks waiting in the broker's default queue, by task name."""
    client = redis.Redis.from_url(server.url())
    try:
        messages = client.lrange("celery", 0, -1)
    finally:
        client.close()
    return Counter(json.loads(message)["headers"]["task"] for message in messages)


def test_second_beat_waits_and_takes_over_without_sending_anything_twice(private_redis):
    env = app_env(
        database_url=database_url(),
        redis_url=private_redis.url(),
        DJANGO_SETTINGS_MODULE="tests.reliability.settings_fast_beat",
        BEAT_FAST_SECONDS=str(FAST_SECONDS),
        BEAT_LOCK_SECONDS=str(LOCK_SECONDS),
        BEAT_MAX_LOOP_SECONDS="1",
        LOG_LEVEL="INFO",
    )
    first = Beat(env, log_path=VAR / "beat-first.log").start()
    second = Beat(env, log_path=VAR / "beat-second.log").start()
    try:
        wait_for(lambda: first.holds_lock() or second.holds_lock(), timeout=30, message="no lock taken")
        leader, standby = (first, second) if first.holds_lock() else (second, first)
        wait_for(
            lambda: leader.sent().count("outbox-sweep") >= 4,
            timeout=30,
            message="the beat holding the lock sent nothing",
        )
        # Both run; only one sends.
        assert not standby.holds_lock() and standby.sent() == []
        before_kill = len(leader.sent())
        leader.kill()
        sent_by_leader = leader.sent()
        wait_for(standby.holds_lock, timeout=LOCK_SECONDS + 20, message="the second beat never took over")
        wait_for(
            lambda: standby.sent().count("outbox-sweep") >= 3,
            timeout=30,
            message="the second beat took the lock but sends nothing",
        )
        standby.stop()
        sent_by_standby = standby.sent()
    finally:
        first.stop()
        second.stop()

    queued = queued_tasks(private_redis)
    logged = Counter(sent_by_leader + sent_by_standby)
    # Entry name to task name, as the schedule maps them.
    logged_by_task = Counter()
    for entry, count in logged.items():
        logged_by_task[settings.CELERY_BEAT_SCHEDULE[entry]["task"]] += count
    duplicates = sum(max(0, queued[task] - logged_by_task[task]) for task in queued)
    lost = sum(max(0, logged_by_task[task] - queued[task]) for task in logged_by_task)
    record(
        "two-beats",
        done=f"two beats on one Redis, entries every {FAST_SECONDS}s: one sent {before_kill} tasks while the "
        f"other waited (sent 0); the sender SIGKILLed, the other took the lock within {LOCK_SECONDS}s and "
        f"sent {len(sent_by_standby)}",
        filed=sum(logged.values()),
        stored=sum(queued.values()),
        emails=0,
        duplicates=duplicates,
        lost=lost,
        errors_5xx=0,
    )
    assert duplicates == 0 and lost == 0
    assert sent_by_standby and len(sent_by_leader) >= before_kill
