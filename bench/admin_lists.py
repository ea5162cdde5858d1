"""Admin change lists (withdrawal requests, acceptances, outbox) at a large size vs the same at 1,000 rows.

The rows are built with INSERT ... SELECT generate_series (valid for every constraint), first 1,000 per
table, then up to the size; each page is asked as a superuser, in-process, and timed (median of several
requests). For each page: time, queries, and no `COUNT(*)` over a whole table (a count without a WHERE).
"""

import re
import statistics
import time

from bench.common import (
    Row,
    insert_series,
    make_superuser,
    make_users,
    policy_publish,
    queries_recorded,
    reset_tables,
)

SMALL_ROWS = 1_000
TIME_TARGET = 3.0
QUERY_TARGET = 15

PAGES = {
    "withdrawal requests": ("/admin/withdrawals/withdrawalrequest/", "withdrawals_withdrawalrequest"),
    "acceptances": ("/admin/acceptances/acceptance/", "acceptances_acceptance"),
    "outbox": ("/admin/notifications/outboxemail/", "notifications_outboxemail"),
}


def _fill(first: int, last: int, version) -> None:
    from apps.acceptances.models import Acceptance
    from apps.notifications.models import OutboxEmail
    from apps.withdrawals.models import WithdrawalRequest

    moment = "now() - g * interval '1 minute'"
    insert_series(
        WithdrawalRequest,
        first,
        last,
        {
            "public_id": "gen_random_uuid()",
            "reference": "'WR-2025-' || lpad(g::text, 7, '0')",
            "submission_token": "gen_random_uuid()",
            "requester": "g",
            "full_name": "'Bench User ' || g",
            "email": "'user' || g || '@bench.kz'",
            "scope": "CASE WHEN mod(g, 3) = 0 THEN 'all' ELSE 'partial' END",
            "purposes": """CASE WHEN mod(g, 3) = 0 THEN '[]'::jsonb ELSE '["marketing"]'::jsonb END""",
            "acknowledgement": "mod(g, 3) = 0",
            "language": "'kk'",
            "status": "'submitted'",
            "created_at": moment,
            "updated_at": moment,
            "verified_at": moment,
            "due_at": f"{moment} + interval '21 days'",
        },
    )
    insert_series(
        Acceptance,
        first,
        last,
        {
            "user": "g",
            "version": "%(version)s",
            "method": "'explicit'",
            "channel": "'web'",
            "accepted_at": moment,
            "recorded_at": moment,
            "ip": "'10.0.0.1'",
            "user_agent": "'bench'",
            "language": "'kk'",
        },
        {"version": version.pk},
    )
    insert_series(
        OutboxEmail,
        first,
        last,
        {
            "dedup_key": "'bench:' || g",
            "template": "'policy_announcement'",
            "to": "'user' || g || '@bench.kz'",
            "language": "'kk'",
            "context": "'{}'::jsonb",
            "user": "g",
            "status": "'sent'",
            "attempts": "1",
            "created_at": moment,
            "updated_at": moment,
            "sent_at": moment,
        },
    )


def _full_table_count(sql: str, table: str) -> bool:
    """A COUNT over `table` with no WHERE: reads every row."""
    normalised = " ".join(sql.split())
    if not re.search(r"COUNT\(\*\)|COUNT\(", normalised, re.IGNORECASE):
        return False
    return f'FROM "{table}"' in normalised and " WHERE " not in normalised.upper()


def _measure(client, url: str, table: str, repeat: int) -> dict:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: status {response.status_code}")
    with queries_recorded() as captured:
        client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "ms": statistics.median(times),
        "queries": len(captured),
        "full_counts": [sql for sql in captured if _full_table_count(sql, table)],
    }


def run(size: dict) -> list[Row]:
    from django.db import connection
    from django.test import Client

    large = size["admin_rows"]
    reset_tables()
    make_users(large)
    version = policy_publish()
    admin = make_superuser()
    client = Client()
    client.force_login(admin)

    _fill(1, SMALL_ROWS, version)
    small = {name: _measure(client, url, table, size["repeat"]) for name, (url, table) in PAGES.items()}
    _fill(SMALL_ROWS + 1, large, version)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE withdrawals_withdrawalrequest")
        cursor.execute("VACUUM ANALYZE acceptances_acceptance")
        cursor.execute("VACUUM ANALYZE notifications_outboxemail")
    big = {name: _measure(client, url, table, size["repeat"]) for name, (url, table) in PAGES.items()}

    rows = []
    for name in PAGES:
        ours, base = big[name], small[name]
        ratio = ours["ms"] / base["ms"]
        passed = ratio <= TIME_TARGET and ours["queries"] <= QUERY_TARGET and not ours["full_counts"]
        rows.append(
            Row(
                f"admin list: {name}, {large:,} vs {SMALL_ROWS:,} rows",
                ours["ms"],
                base["ms"],
                "ms",
                ratio,
                f"<= {TIME_TARGET:g}x, <= {QUERY_TARGET} queries, no full COUNT",
                passed,
                note=f"{ours['queries']} queries; full-table COUNTs: {len(ours['full_counts'])}",
            )
        )
    return rows


if __name__ == "__main__":
    import sys

    from bench.run import main

    raise SystemExit(main(["--only", "admin_lists", *sys.argv[1:]]))
