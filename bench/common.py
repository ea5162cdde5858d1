"""Shared pieces of the benchmarks: the database, fast data building, timing and the result table."""

import os
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

SIZES = {
    "small": {"users": 20_000, "rows": 20_000, "duration": 5, "emails": 300},
    "full": {"users": 1_000_000, "rows": 1_000_000, "duration": 20, "emails": 3_000},
}


@dataclass
class Row:
    scenario: str
    ours: float
    baseline: float
    unit: str
    ratio: float
    target: str
    passed: bool
    note: str = ""


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.conf import settings

    _ensure_database(settings.DATABASES["default"])
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)


def _ensure_database(db: dict) -> None:
    import psycopg

    conninfo = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or "postgres",
        "dbname": "postgres",
        "autocommit": True,
    }
    if db.get("PASSWORD"):
        conninfo["password"] = db["PASSWORD"]
    with psycopg.connect(**conninfo) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def reset_tables(*tables: str) -> None:
    """Empty the given tables (and what refers to them) between scenarios."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def make_users(count: int, *, last_used_at_sql: str = "NULL", language_sql: str = "'kk'") -> None:
    """Insert `count` active users in one statement (password: 'bench-password')."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    password = make_password("bench-password")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO accounts_user (email, full_name, phone, language, agreement_status, is_staff,
                                       is_active, is_superuser, date_joined, password, last_used_at)
            SELECT 'user' || g || '@bench.kz', 'Bench User ' || g, '', {language_sql}, 'active', false, true,
                   false, now() - interval '400 days', %s, {last_used_at_sql}
            FROM generate_series(1, %s) AS g
            """,
            [password, count],
        )
        cursor.execute("ANALYZE accounts_user")


@contextmanager
def stopwatch():
    result = {}
    start = time.perf_counter()
    yield result
    result["seconds"] = time.perf_counter() - start


def best_of(runs: int, function: Callable[[], float]) -> float:
    return min(function() for _ in range(runs))


def median(values: list[float]) -> float:
    return statistics.median(values)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process, from /proc (VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def print_table(rows: list[Row]) -> None:
    headers = ["scenario", "ours", "baseline", "ratio", "target", "result"]
    table = [
        [
            row.scenario,
            f"{row.ours:,.3f} {row.unit}",
            f"{row.baseline:,.3f} {row.unit}",
            f"{row.ratio:.2f}",
            row.target,
            ("pass" if row.passed else "FAIL") + (f" ({row.note})" if row.note else ""),
        ]
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *table, strict=False)]
    line = "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * width for width in widths))
    for cells in table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)))
