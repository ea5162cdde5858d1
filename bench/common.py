"""Shared pieces of the benchmarks: the database, fast data building, servers, load, timing and the table."""

import json
import os
import secrets
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tests.support.servers import ROOT, VAR, Gunicorn, child_env, database_url

BENCH_DIR = ROOT / "bench"
POLICY_FILE = ROOT / "apps" / "policies" / "data" / "privacy_policy_kk.txt"

# `users`/`rows`: data built; `sessions`: signed-in users rotating; `duration`: seconds of each wrk run;
# `rounds`: alternating runs of ours and the baseline (the best of each kept); `repeat`: timed admin requests.
SIZES = {
    "small": {
        "name": "small",
        "users": 20_000,
        "rows": 20_000,
        "duration": 2,
        "rounds": 2,
        "emails": 300,
        "sessions": 200,
        "admin_rows": 20_000,
        "repeat": 3,
    },
    "full": {
        "name": "full",
        "users": 1_000_000,
        "rows": 1_000_000,
        "duration": 10,
        "rounds": 4,
        "emails": 3_000,
        "sessions": 10_000,
        "admin_rows": 1_000_000,
        "repeat": 7,
    },
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


# --- Django and the database ----------------------------------------------------------------------


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.conf import settings

    _ensure_database(settings.DATABASES["default"])
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
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
        # A scratch database, made anew each run so that no earlier schema or data can skew a figure.
        conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def bench_env(settings_module: str = "bench.settings", **extra: str) -> dict[str, str]:
    """Environment of a portal process the benchmarks start: the bench database and `settings_module`."""
    return child_env(settings_module, BENCH_DATABASE_URL=database_url(), **extra)


# Tables the scenarios fill; emptied (with what refers to them) before each scenario builds its data.
DATA_TABLES = [
    "acceptances_acceptance",
    "acceptances_usereport",
    "withdrawals_timelineentry",
    "withdrawals_withdrawalrequest",
    "withdrawals_referencecounter",
    "notifications_outboxemail",
    "audit_auditevent",
    "policies_policytext",
    "policies_policyversion",
    "django_session",
    "accounts_user",
]


def reset_tables(*tables: str) -> None:
    """Empty the given tables (default: every table the scenarios fill) and forget cached state."""
    from django.core.cache import cache
    from django.db import connection

    from apps.policies.selectors import CURRENT_CACHE_KEY

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables or DATA_TABLES)} RESTART IDENTITY CASCADE")
    cache.delete(CURRENT_CACHE_KEY)


def purge_broker() -> None:
    """Drop tasks the product queued while a scenario ran (no worker consumes them)."""
    from config.celery import app

    app.control.purge()


def insert_series(
    model, first: int, last: int, expressions: dict[str, str], params: dict | None = None
) -> int:
    """Insert one row of `model` per g in [first, last] with one INSERT ... SELECT generate_series.

    `expressions` gives the SQL of fields by name (`g` is the series number); every other required column
    gets its default as a parameter. Returns the rows written.
    """
    from django.db import connection

    params = {**(params or {}), "first": first, "last": last}
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in expressions:
            continue
        if field.name in expressions:
            names.append(field.column)
            values.append(expressions[field.name])
        elif not field.null:
            names.append(field.column)
            values.append(f"%(default_{field.column})s")
            params[f"default_{field.column}"] = field.get_db_prep_save(field.get_default(), connection)
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(qn(name) for name in names)}) "
            f"SELECT {', '.join(values)} FROM generate_series(%(first)s, %(last)s) AS g",
            params,
        )
        written = cursor.rowcount
        cursor.execute(f"ANALYZE {table}")
    return written


def rows_fingerprint(
    model, *, exclude: tuple[str, ...] = ("id",), where: str = "true", params: tuple = ()
) -> dict[str, int]:
    """Return the rows of `model`'s table (those matching the SQL `where`) summed up per column, with their
    count, in one scan.

    Each column's figure is the sum of a hash of its value as text over every row, so two sets of rows give
    the same figures when they hold the same values, in any order; `exclude` leaves out the columns that
    differ by nature (ids, moments of writing). Comparing two results names the columns that differ.
    """
    from django.db import connection

    qn = connection.ops.quote_name
    columns = [field.column for field in model._meta.concrete_fields if field.column not in exclude]
    sums = ", ".join(
        f"coalesce(sum(hashtextextended(coalesce({qn(column)}::text, '<null>'), 0)), 0)" for column in columns
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), {sums} FROM {qn(model._meta.db_table)} WHERE {where}", params)
        count, *values = cursor.fetchone()
    return {"rows": count, **{column: int(value) for column, value in zip(columns, values, strict=True)}}


def fingerprints_differ(ours: dict[str, int], baseline: dict[str, int]) -> list[str]:
    """Return the columns (or "rows") whose figures differ between two rows_fingerprint results."""
    return [name for name in ours if ours[name] != baseline.get(name)]


def make_users(count: int, *, last_used_at_sql: str = "NULL", language_sql: str = "'kk'", **columns) -> None:
    """Insert `count` active users in one statement (password: 'bench-password').

    `columns` overrides the SQL expression of a field by name (`g` is the series number).
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    expressions = {
        "email": "'user' || g || '@bench.kz'",
        "full_name": "'Bench User ' || g",
        "language": language_sql,
        "agreement_status": "'active'",
        "date_joined": "now() - interval '400 days'",
        # Confirmed their address the day after joining, as most members have: a withdrawal from such an
        # account is registered at once.
        "email_verified_at": "now() - interval '399 days'",
        "last_used_at": last_used_at_sql,
        "is_active": "true",
        "is_staff": "false",
        "is_superuser": "false",
        "password": "%(password)s",
        **columns,
    }
    insert_series(get_user_model(), 1, count, expressions, {"password": make_password("bench-password")})


def accept_all(version) -> None:
    """Every user accepted `version` with the button (one INSERT ... SELECT)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO acceptances_acceptance (user_id, version_id, method, channel, accepted_at,
                recorded_at, ip, user_agent, language, text_sha256, used_at, use_source)
            SELECT id, %s, 'explicit', 'web', now(), now(), '127.0.0.1', 'bench', 'kk', '', NULL, ''
            FROM accounts_user
            """,
            [version.pk],
        )
        cursor.execute("ANALYZE acceptances_acceptance")


def make_superuser(email: str = "admin@bench.kz", password: str = "bench-password"):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(email=email, password=password, full_name="Bench Admin")


def policy_publish(*, number: int = 1, published_days_ago: int = 10, languages=("kk", "ru", "en")):
    """Publish a version with the real policy text, `published_days_ago` days ago (its deadline passed).

    The texts are added to a draft first, as the triggers require; the version in force is re-cached.
    """
    from django.utils import timezone

    from apps.policies.models import PolicyText, PolicyVersion
    from apps.policies.selectors import implicit_acceptance_deadline, policy_current_cache_refresh
    from apps.policies.text import text_sha256

    lines = POLICY_FILE.read_text(encoding="utf-8").strip().split("\n")
    title, body = lines[0].strip(), "\n".join(lines[1:]).strip()
    version = PolicyVersion.objects.create(number=number)
    for language in languages:
        PolicyText.objects.create(
            version=version,
            language=language,
            title=title,
            body=body,
            summary="Bench",
            body_sha256=text_sha256(body),
        )
    published_at = timezone.now() - timedelta(days=published_days_ago)
    PolicyVersion.objects.filter(pk=version.pk).update(
        status=PolicyVersion.Status.PUBLISHED,
        published_at=published_at,
        implicit_acceptance_at=implicit_acceptance_deadline(published_at=published_at, days=7),
    )
    version.refresh_from_db()
    policy_current_cache_refresh()
    return version


def sessions_create(user_ids: list[int]) -> list[tuple[str, str]]:
    """Signed-in sessions written straight into the session store; returns (session key, CSRF secret)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    user_model = get_user_model()
    hashes = {user.pk: user.get_session_auth_hash() for user in user_model.objects.filter(pk__in=user_ids)}
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    result, rows = [], []
    for user_id in user_ids:
        key = secrets.token_hex(16)
        data = {
            SESSION_KEY: str(user_id),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: hashes[user_id],
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        result.append((key, secrets.token_hex(16)))
    Session.objects.bulk_create(rows, batch_size=2000)
    return result


def signed_in_users(count: int) -> tuple[list[tuple[str, str]], Path]:
    """Start afresh with the policy in force, `count` users who accepted it and a signed-in session each;
    return the sessions and the file wrk's load script reads them from."""
    from django.contrib.auth import get_user_model

    reset_tables()
    version = policy_publish()
    make_users(count)
    accept_all(version)
    sessions = sessions_create(list(get_user_model().objects.order_by("pk").values_list("pk", flat=True)))
    return sessions, write_lines(VAR / "bench-sessions.txt", [f"{key} {csrf}" for key, csrf in sessions])


# --- Servers and load ------------------------------------------------------------------------------


@contextmanager
def gunicorn(
    settings_module: str = "bench.settings", *, workers: int = 2, threads: int = 4, **env: str
) -> Iterator[str]:
    """Run gunicorn on a free loopback port with the given settings; yield its base URL, stop it after."""
    options = ("--worker-class", "gthread", "--keep-alive", "30", "--log-level", "warning")
    log_path = VAR / f"bench-gunicorn-{settings_module}.log"
    env = bench_env(settings_module, **env)
    server = Gunicorn(env, log_path=log_path, workers=workers, threads=threads, options=options)
    with server:
        yield server.url


def wrk(
    url: str,
    *,
    script: str,
    duration: float,
    connections: int = 16,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> dict:
    """Run wrk with a Lua script from bench/lua and return what its done() printed (JSON)."""
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(duration, 1):g}s"]
    command += ["--timeout", "10s", "-s", str(BENCH_DIR / "lua" / script), url]
    result = subprocess.run(
        command,
        cwd=BENCH_DIR / "lua",
        env={**os.environ, "BENCH_THREADS": str(threads), **(env or {})},
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    for line in reversed(result.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")


def wrk_checked(url: str, **kwargs) -> dict:
    """wrk, and fail when a response was an error or not the status the script expects."""
    report = wrk(url, **kwargs)
    if report["requests"] == 0 or report["bad"] or report["errors"]:
        raise RuntimeError(f"{url}: unexpected responses or errors: {report}")
    return report


def warm_up(base: str, path: str, sessions: list[tuple[str, str]], *, threads: int = 8) -> None:
    """Request `path` once as each signed-in user, over keep-alive connections, checking each answer."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    address = urlsplit(base)

    def visit(part: list[tuple[str, str]]) -> None:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        try:
            for key, csrf in part:
                conn.request("GET", path, headers={"Cookie": f"sessionid={key}; csrftoken={csrf}"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"warm-up {path}: status {response.status}")
        finally:
            conn.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(visit, [sessions[index::threads] for index in range(threads)]))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# --- Measuring -------------------------------------------------------------------------------------


@contextmanager
def queries_recorded() -> Iterator[list[str]]:
    """Record the SQL of every query run on the default connection inside the block."""
    from django.db import connection

    recorded: list[str] = []

    def record(execute, sql, params, many, context):
        recorded.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield recorded


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
