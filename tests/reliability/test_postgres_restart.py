"""PostgreSQL (a private cluster) is killed and restarted while people sign up, file requests and accept.

Each request is either wholly stored or clearly refused: a refusal is a 503 page asking to try again (or a
connection the server could not answer), never a 500, and never a half-written request, account or acceptance.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from . import flows
from .invariants import violations
from .support import PostgresCluster, Tally, WebClient, app_env, client_ip, record, run_in_portal, start_web

pytestmark = [pytest.mark.reliability]

SECONDS = 14
CLIENTS = 16
MEMBERS = 16

SETUP = f"""
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.utils import timezone
from apps.policies.models import PolicyVersion
from tests.policies.factories import PolicyVersionFactory
call_command("migrate", verbosity=0)
version = PolicyVersionFactory(published=True, published_at=timezone.now() - timedelta(days=1))
PolicyVersion.objects.filter(pk=version.pk).update(announced_at=timezone.now())
User = get_user_model()
password = make_password({flows.PASSWORD!r})
joined = timezone.now() - timedelta(days=30)
User.objects.bulk_create(
    [User(email=f"pg-member-{{i}}@example.kz", full_name=f"Member {{i}}", language="kk", password=password,
          date_joined=joined, email_verified_at=joined) for i in range({MEMBERS})]
)
print(version.number)
"""


@pytest.fixture
def private_postgres():
    cluster = PostgresCluster().init()
    cluster.start()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE alilo")
    yield cluster
    cluster.cleanup()


def test_requests_during_a_database_restart_are_wholly_stored_or_clearly_refused(
    private_postgres, private_redis
):
    env = app_env(database_url=private_postgres.url("alilo"), redis_url=private_redis.url())
    number = int(run_in_portal(env, SETUP, timeout=300).strip().splitlines()[-1])
    web = start_web(env, workers=2, threads=8)
    tally = Tally()
    lock = threading.Lock()
    outcomes: list[tuple[str, str, str]] = []  # (kind, key, "ok" | "refused")
    deadline = time.monotonic() + SECONDS

    def note(kind: str, key: str, ok: bool) -> None:
        with lock:
            outcomes.append((kind, key, "ok" if ok else "refused"))

    def client_loop(index: int) -> None:
        round_ = 0
        while time.monotonic() < deadline:
            round_ += 1
            client = WebClient(web.url, client_ip(7000 + index * 1000 + round_), timeout=15)
            try:
                choice = round_ % 3
                if choice == 0:
                    email = f"pg-new-{index}-{round_}@example.kz"
                    note("signup", email, flows.sign_up(client, tally, email, number))
                elif choice == 1:
                    data = flows.withdrawal_form(index, email=f"pg-visitor-{index}-{round_}@example.kz")
                    filed = flows.file_withdrawal(client, tally, data, signed_in=False)
                    note("visitor", data["submission_token"], filed)
                else:
                    member = f"pg-member-{index % MEMBERS}@example.kz"
                    if flows.log_in(client, tally, member):
                        note("accept", member, flows.accept_policy(client, tally, number))
                        data = flows.withdrawal_form(index, scope="partial")
                        filed = flows.file_withdrawal(client, tally, data, signed_in=True)
                        note("member", data["submission_token"], filed)
            except Exception:  # the CSRF fetch itself may fail while the database is down
                pass
            finally:
                client.close()

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(client_loop, i) for i in range(CLIENTS)]
            time.sleep(SECONDS / 3)
            private_postgres.stop(mode="immediate")  # as if the server crashed
            time.sleep(2)
            private_postgres.start()
            for future in futures:
                future.result()
    finally:
        web.stop()

    refusals = {key: n for key, n in tally.statuses.items() if key.rsplit(":", 1)[1].startswith("5")}
    with psycopg.connect(private_postgres.url("alilo")) as conn, conn.cursor() as cursor:
        broken = violations(cursor)
        stored_tokens = {
            str(row[0])
            for row in cursor.execute("SELECT submission_token FROM withdrawals_withdrawalrequest")
        }
        users = {row[0] for row in cursor.execute("SELECT email FROM accounts_user")}
        accepted = {
            row[0]
            for row in cursor.execute(
                "SELECT u.email FROM acceptances_acceptance a JOIN accounts_user u ON u.id = a.user_id "
                "WHERE a.method = 'explicit'"
            )
        }
    lost = [
        (kind, key)
        for kind, key, result in outcomes
        if result == "ok"
        and not (
            (kind in ("visitor", "member") and key in stored_tokens)
            or (kind == "signup" and key in users)
            or (kind == "accept" and key in accepted)
        )
    ]
    ok = sum(1 for _kind, _key, result in outcomes if result == "ok")
    record(
        "postgres-restart",
        done=f"{CLIENTS} clients for {SECONDS}s signing up, filing and accepting; PostgreSQL killed "
        f"(immediate stop) and restarted; {sum(refusals.values())} answers were 503 pages, the rest "
        "of the refusals unanswered connections",
        filed=len(outcomes),
        stored=ok - len(lost),
        refused=len(outcomes) - ok,
        emails=0,
        duplicates=0,
        lost=len(lost),
        errors_5xx=sum(n for key, n in refusals.items() if not key.endswith(":503")),
    )
    assert broken == {}
    assert lost == []
    assert all(key.endswith(":503") for key in refusals), refusals
    assert ok > 0 and len(outcomes) > ok, "the restart should have refused some requests"
