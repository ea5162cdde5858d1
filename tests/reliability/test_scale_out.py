"""The portal on several nodes: two gunicorn web nodes behind nginx (deploy/'s configuration, round robin),
two Celery workers and one beat, each a process group of its own with its own environment and its own
VAR_DIR (nodes on different hosts share no disk), on one PostgreSQL and one Redis.

50 clients for RELIABILITY_LOAD_SECONDS (60 in `make reliability`, 20 in `make test`) sign in, file
withdrawals, accept the policy and browse through the proxy. Meanwhile: a new version is published, and a
signed-in user asks each web node directly until both show the new version's banner; one worker is SIGKILLed
at a random moment of the announcement's fan-out and started again (beat's resume finishes the fan-out);
one web node is SIGKILLed at a random moment and started again. A client retries a request that failed
with a 5xx or a broken connection, as a browser's user would, and each such failure is counted; it must
fall while a node was down. Lockouts and rate limits are probed against the two nodes in turn: they must
hold at the configured count, not twice it.

Counts: every request the site accepted is stored once, every email is sent once, the announcement reaches
every user once, nothing half-stored (invariants.py).
"""

import os
import random
import ssl
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection, connections

from apps.notifications.models import OutboxEmail
from apps.policies.models import PolicyVersion
from apps.policies.selectors import ANNOUNCEMENT_TEMPLATE
from apps.withdrawals.models import WithdrawalRequest
from tests.policies.factories import PolicyVersionFactory
from tests.support.servers import ROOT, Beat, Gunicorn, Worker, database_url, free_port, wait_for
from tests.support.tools import require_tool

from . import flows
from .conftest import users_create, users_insert
from .invariants import violations
from .support import (
    VAR,
    Proxy,
    Tally,
    WebClient,
    app_env,
    client_ip,
    delivery_counts,
    record,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "20"))
CLIENTS = 50
MEMBERS = 30  # the other 20 clients are visitors
# Users told of the new version besides the clients; ranges of CHUNK ids, so the fan-out takes a while.
USERS = int(os.environ.get("RELIABILITY_SCALE_USERS", "2000"))
CHUNK = 10
LOCAL_SECONDS = 5  # POLICY_CURRENT_LOCAL_SECONDS, as in production
# How long a client keeps retrying a request that failed with a 5xx or a broken connection.
PATIENCE = 30
LOCKOUT_LIMIT = 5  # AXES_FAILURE_LIMIT
RATE_LIMIT = 20  # WITHDRAWAL_RATE_PER_IP per hour


# Publishes the version whose id it reads, as staff do, and prints the moment of the commit.
PUBLISHER = """
import sys, time
import django
django.setup()
from apps.policies.models import PolicyVersion
from apps.policies.services import policy_version_publish
print("ready", flush=True)
version = PolicyVersion.objects.get(pk=int(sys.stdin.readline()))
policy_version_publish(version=version)
print(time.time(), flush=True)
"""


class NodeClient(WebClient):
    """A visitor whose browser retries a request answered with a 5xx or a broken connection (a node that
    died under it), counting each such failure with its moment."""

    def __init__(self, *args, failures: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures

    def _retrying(self, method: str, path: str, **kwargs) -> httpx.Response:
        give_up = time.monotonic() + PATIENCE
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if time.monotonic() > give_up:
                    raise
                self.failures.append((time.monotonic(), f"{method} {path}: {type(exc).__name__}"))
            else:
                if response.status_code < 500 or time.monotonic() > give_up:
                    return response
                self.failures.append((time.monotonic(), f"{method} {path}: {response.status_code}"))
            time.sleep(0.3)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self._retrying("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> httpx.Response:
        token = self.csrf()
        return self._retrying("POST", path, data={**data, "csrfmiddlewaretoken": token}, **kwargs)

    def csrf(self, path: str = "/privacy/withdraw/") -> str:
        token = self.http.cookies.get("csrftoken")
        if not token:
            self._retrying("GET", path)
            token = self.http.cookies.get("csrftoken")
        return token or ""


def direct_client(node: Gunicorn, ip: str, failures: list) -> NodeClient:
    """A client of one web node, bypassing the proxy, with the headers the proxy would add; it waits for the
    node while it is down."""
    return NodeClient(node.url, f"{ip}, 127.0.0.1", failures=failures)


def start_all(processes) -> None:
    """Start processes side by side (each start waits until it serves)."""
    with ThreadPoolExecutor(len(processes)) as pool:
        for future in [pool.submit(process.start) for process in processes]:
            future.result()


def test_two_web_nodes_two_workers_and_a_beat_lose_nothing_and_count_limits_once(
    private_redis, fake_esp, policy_in_force
):
    nginx = require_tool("nginx", "apt-get install nginx-light", paths=["/usr/sbin/nginx"])
    openssl = require_tool("openssl", "apt-get install openssl")
    old_number = policy_in_force.number
    new_version = PolicyVersionFactory(number=old_number + 1)
    users_insert(USERS, prefix="scale-")
    members = users_create(MEMBERS, prefix="scale-member-")
    watcher = users_create(1, prefix="scale-watcher-")[0]
    locked = users_create(1, prefix="scale-locked-")[0]

    proxy_port = free_port()
    proxy_url = f"https://127.0.0.1:{proxy_port}"
    shared = app_env(
        database_url=database_url(),
        redis_url=private_redis.url(),
        site_url=proxy_url,
        DJANGO_SETTINGS_MODULE="tests.reliability.settings_fast_beat",
        # Clients name their address in X-Forwarded-For, as a load balancer in front of nginx would.
        TRUSTED_PROXIES="2",
        CSRF_TRUSTED_ORIGINS=proxy_url,
        AXES_ENABLED="true",
        AXES_FAILURE_LIMIT=str(LOCKOUT_LIMIT),
        RATELIMIT_ENABLE="true",
        WITHDRAWAL_RATE_PER_IP=f"{RATE_LIMIT}/h",
        POLICY_CURRENT_LOCAL_SECONDS=str(LOCAL_SECONDS),
        POLICY_ANNOUNCEMENT_CHUNK_SIZE=str(CHUNK),
        POLICY_ANNOUNCE_RESUME_AFTER_SECONDS="3",
        BEAT_FAST_SECONDS="2",
        BEAT_MAX_LOOP_SECONDS="1",
        **fake_esp.environ(),
    )

    def node_env(name: str) -> dict[str, str]:
        folder = VAR / "scale" / name
        folder.mkdir(parents=True, exist_ok=True)
        return {**shared, "VAR_DIR": str(folder)}

    # Idle connections from nginx are kept longer than nginx keeps them (upstream keepalive_timeout, 60 s):
    # else gunicorn may close one just as nginx sends a request on it, a 502 nginx cannot retry for a POST.
    web_options = ("--timeout", "60", "--graceful-timeout", "5", "--max-requests", "0", "--keep-alive", "75")
    names = ("web-a", "web-b")
    webs = [
        Gunicorn(
            node_env(name), log_path=VAR / f"scale-{name}.log", workers=2, threads=8, options=web_options
        )
        for name in names
    ]
    workers = [
        Worker(node_env(name), log_path=VAR / f"scale-{name}.log", name=f"scale-{name}")
        for name in ("worker-1", "worker-2")
    ]
    beat = Beat(node_env("beat"), log_path=VAR / "scale-beat.log")
    proxy = Proxy([f"127.0.0.1:{web.port}" for web in webs], port=proxy_port, nginx=nginx, openssl=openssl)
    rng = random.Random(os.environ.get("RELIABILITY_SEED") or None)

    tally = Tally()
    failures: list[tuple[float, str]] = []  # 5xx and broken connections seen by clients (then retried)
    lock = threading.Lock()
    posted: set[str] = set()  # every submission token sent
    accepted: set[str] = set()  # tokens whose request the site accepted
    double_submitted = 0
    current = {"number": old_number}
    events: dict[str, object] = {}
    down: list[tuple[float, float]] = []  # (from, to) while a web node was down
    watchers: list[NodeClient] = []
    publisher = None

    try:
        start_all([*webs, *workers, beat])
        proxy.start()
        # A signed-in user of each node, who has not accepted the new version; and the staff's publication,
        # from a portal process of its own (no web node), ready before the load.
        for web in webs:
            watchers.append(direct_client(web, "10.250.0.3", failures))
            assert watchers[-1].login(watcher.email, flows.PASSWORD).status_code == 302
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER],
            cwd=ROOT,
            env=shared,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert publisher.stdout.readline().strip() == "ready"
        started = time.monotonic()
        deadline = started + SECONDS

        def client_loop(index: int) -> None:
            nonlocal double_submitted
            client_rng = random.Random(index)
            member = members[index] if index < MEMBERS else None
            client = NodeClient(
                proxy.url,
                client_ip(7000 + index),
                verify=ssl.create_default_context(cafile=str(proxy.certificate)),
                headers={"Origin": proxy.url},
                failures=failures,
            )
            try:
                if member is not None and not flows.log_in(client, tally, member.email):
                    return
                round_ = 0
                while time.monotonic() < deadline:
                    round_ += 1
                    roll = client_rng.random()
                    if roll < 0.3:
                        email = "" if member else f"scale-visitor-{index}-{round_}@example.kz"
                        data = flows.withdrawal_form(index, email=email, scope="partial" if member else "all")
                        with lock:
                            posted.add(data["submission_token"])
                        if flows.file_withdrawal(client, tally, data, signed_in=member is not None):
                            with lock:
                                accepted.add(data["submission_token"])
                        if client_rng.random() < 0.15:  # a double click: the same form again
                            flows.file_withdrawal(client, tally, data, signed_in=member is not None)
                            with lock:
                                double_submitted += 1
                    elif roll < 0.45 and member is not None:
                        flows.accept_policy(client, tally, current["number"])
                    else:
                        flows.browse(client, tally, signed_in=member is not None)
            finally:
                client.close()

        def probe_limits() -> None:
            """Lockout and rate limit, asked of the two nodes in turn (directly, as nginx would pass them)."""
            lockout, limited = [], []
            try:
                lockout = [direct_client(web, "10.250.0.1", failures) for web in webs]
                answers = [
                    lockout[attempt % 2].login(locked.email, "not-the-password").status_code
                    for attempt in range(LOCKOUT_LIMIT + 2)
                ]
                answers.append(lockout[0].login(locked.email, flows.PASSWORD).status_code)
                events["lockout_answers"] = answers
                limited = [direct_client(web, "10.250.0.2", failures) for web in webs]
                results = []
                for attempt in range(RATE_LIMIT + 4):
                    data = flows.withdrawal_form(9000 + attempt, email=f"scale-probe-{attempt}@example.kz")
                    with lock:
                        posted.add(data["submission_token"])
                    response = limited[attempt % 2].post("/privacy/withdraw/", data)
                    results.append(response.status_code)
                    if response.status_code == 302:
                        with lock:
                            accepted.add(data["submission_token"])
                events["rate_answers"] = results
            finally:
                for client in lockout + limited:
                    client.close()

        def publish_and_watch() -> None:
            """Publish midway, then ask each web node directly until it shows the new version's banner."""
            time.sleep(max(0.0, started + SECONDS * 0.25 - time.monotonic()))
            publisher.stdin.write(f"{new_version.pk}\n")
            publisher.stdin.flush()
            published = time.monotonic() - (time.time() - float(publisher.stdout.readline()))
            current["number"] = new_version.number
            events["published"] = published - started
            banner = f'action="/privacy/accept/{new_version.number}/"'
            seen: dict[int, float] = {}  # node: when the first request that showed the banner was sent
            stale: dict[int, float] = {}  # node: when the last request that did not show it was sent
            while len(seen) < len(webs) and time.monotonic() < published + LOCAL_SECONDS + 10:
                for index, client in enumerate(watchers):
                    asked = time.monotonic()
                    if index in seen:
                        continue
                    if banner in client.get("/").text:
                        seen[index] = asked - published
                    else:
                        stale[index] = asked - published
                time.sleep(0.1)
            events["stale"] = stale
            events["seen"] = seen

        def kill_worker_mid_fanout() -> None:
            """SIGKILL the worker running the announcement once a random share of it is written."""
            try:
                expected = USERS + MEMBERS + 2
                share = rng.uniform(0.1, 0.5)
                version = PolicyVersion.objects.filter(pk=new_version.pk)
                wait_for(
                    lambda: (
                        (version.values_list("announcement_written", flat=True).first() or 0)
                        >= share * expected
                    ),
                    timeout=SECONDS + 30,
                    interval=0.005,
                    message="the announcement never started",
                )
                running = [w for w in workers if "policies.announce[" in w.log_tail(200_000)] or workers
                victim = running[0]
                victim.kill()
                events["fanout_at_kill"] = version.values_list("announcement_written", flat=True).first()
                events["fanout_finished_at_kill"] = version.filter(announced_at__isnull=False).exists()
                events["worker_killed"] = (victim.name, time.monotonic() - started)
                victim.start()
            finally:
                connections.close_all()

        def kill_web_node() -> None:
            """SIGKILL one web node at a random moment once the publication is seen, and start it again."""
            wait_for(lambda: "seen" in events, timeout=SECONDS + 30, interval=0.1, message="no publication")
            # The limits are counted exactly only for requests that were not cut by a dying node (a retried
            # POST the node had counted before it died counts twice, as it should): probe them first.
            wait_for(
                lambda: "rate_answers" in events, timeout=SECONDS + 30, interval=0.1, message="no limit probe"
            )
            earliest = max(time.monotonic(), started + SECONDS * 0.4)
            time.sleep(
                max(0.0, rng.uniform(earliest, max(earliest, started + SECONDS * 0.7)) - time.monotonic())
            )
            index = rng.randrange(len(webs))
            killed = time.monotonic()
            webs[index].kill()
            webs[index].start()
            down.append((killed, time.monotonic()))
            events["web_killed"] = (names[index], killed - started)
            events["web_down"] = down[-1][1] - killed

        with ThreadPoolExecutor(CLIENTS + 4) as pool:
            futures = [pool.submit(client_loop, i) for i in range(CLIENTS)]
            futures += [
                pool.submit(task) for task in (probe_limits, publish_and_watch, kill_worker_mid_fanout)
            ]
            futures.append(pool.submit(kill_web_node))
            for future in futures:
                future.result()
        requests_made = tally.total
        load_seconds = time.monotonic() - started

        # Beat resumes the announcement the killed worker left and sweeps the outbox; the workers deliver.
        wait_for(
            lambda: PolicyVersion.objects.filter(pk=new_version.pk, announced_at__isnull=False).exists(),
            timeout=180,
            interval=0.5,
            message="the announcement did not finish",
        )
        wait_for(
            lambda: not OutboxEmail.objects.exclude(status=OutboxEmail.Status.SENT).exists(),
            timeout=240,
            interval=0.5,
            message="the workers did not deliver every email",
        )
        time.sleep(1)
    finally:
        for client in watchers:
            client.close()
        if publisher is not None:
            publisher.kill()
            publisher.wait()
        proxy.cleanup()
        beat.stop()
        for process in [*workers, *webs]:
            process.stop()

    # Requests: each accepted one stored once; nothing stored that was not sent.
    stored = WithdrawalRequest.objects.filter(submission_token__in=[uuid.UUID(t) for t in accepted]).count()
    all_rows = WithdrawalRequest.objects.count()
    sent_rows = WithdrawalRequest.objects.filter(submission_token__in=[uuid.UUID(t) for t in posted]).count()
    # Emails: each outbox row delivered once.
    per_row = delivery_counts(fake_esp.received)
    emails = OutboxEmail.objects.count()
    duplicates = sum(count - 1 for count in per_row.values() if count > 1)
    lost = len(set(OutboxEmail.objects.values_list("pk", flat=True)) - set(per_row))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT user_id) FROM notifications_outboxemail "
            "WHERE template = %s AND object_id = %s",
            [ANNOUNCEMENT_TEMPLATE, new_version.pk],
        )
        announced, announced_users = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM accounts_user WHERE agreement_status = 'active' AND date_joined < "
            "(SELECT published_at FROM policies_policyversion WHERE id = %s)",
            [new_version.pk],
        )
        (eligible,) = cursor.fetchone()
        broken = violations(cursor)
    # 5xx or broken connections outside the moments a node was down (a second of grace each side).
    unexplained = [what for moment, what in failures if not any(a - 1 <= moment <= b + 1 for a, b in down)]
    refused = sum(n for key, n in tally.statuses.items() if key.endswith(":429"))
    seen = events.get("seen", {})
    lockout = events.get("lockout_answers", [])
    rate = events.get("rate_answers", [])
    web_name, web_at = events.get("web_killed", ("-", 0.0))
    worker_name, worker_at = events.get("worker_killed", ("-", 0.0))
    record(
        "scale-out",
        done=f"2 web nodes behind nginx, 2 workers, 1 beat; {CLIENTS} clients for {SECONDS:.0f}s "
        f"({requests_made} requests, {requests_made / load_seconds:.0f}/s, {double_submitted} double "
        f"submissions); version {new_version.number} published at {events.get('published', 0):.0f}s, its "
        f"banner seen on {len(seen)} of 2 nodes after {max(seen.values(), default=0):.1f}s, old version "
        f"last seen at {max(events.get('stale', {}).values(), default=0):.1f}s (limit {LOCAL_SECONDS}s); "
        f"{worker_name} SIGKILLed at {worker_at:.0f}s with the fan-out at "
        f"{events.get('fanout_at_kill')} of {announced} users, resumed by beat; {web_name} SIGKILLed at "
        f"{web_at:.0f}s, back {events.get('web_down', 0):.1f}s later ({len(failures)} failed requests "
        f"retried); lockout at failure {lockout.index(429) + 1 if 429 in lockout else '-'} of "
        f"{LOCKOUT_LIMIT}, {rate.count(302)} of {len(rate)} posts under a {RATE_LIMIT}/h limit, over 2 nodes",
        filed=len(accepted),
        stored=stored,
        refused=refused + rate.count(429),
        emails=emails,
        sent=len(fake_esp.received),
        duplicates=duplicates + (announced - announced_users),
        lost=lost + (len(accepted) - stored) + (eligible - announced_users),
        errors_5xx=tally.server_errors + len(unexplained),
    )
    assert broken == {}
    assert stored == len(accepted) and sent_rows == all_rows, "a request lost, or stored without being sent"
    assert duplicates == 0 and lost == 0 and len(fake_esp.received) == emails
    assert announced == announced_users == eligible
    assert tally.server_errors == 0, tally.errors[:5]
    assert unexplained == [], (unexplained[:5], [(round(m - started, 1), w) for m, w in failures], down)
    # The publication reached both nodes, and no request sent to either once the time each process keeps the
    # version in force had passed still showed the old one (half a second for the clocks' conversion).
    assert sorted(seen) == [0, 1], seen
    assert max(events["stale"].values(), default=0) <= LOCAL_SECONDS + 0.5, events["stale"]
    # The kill landed in the middle of the fan-out, which beat's resume then finished.
    assert events["fanout_at_kill"] > 0 and not events["fanout_finished_at_kill"]
    # django-axes counts failures in the database and django-ratelimit in Redis: both nodes share them.
    # The last answer is to the right password, refused too while locked out.
    assert lockout == [200] * (LOCKOUT_LIMIT - 1) + [429] * 4, lockout
    assert rate == [302] * RATE_LIMIT + [429] * 4, rate
