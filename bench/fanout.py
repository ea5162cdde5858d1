"""Benchmark: the policy announcement fan-out against a hand-written INSERT ... SELECT of the same rows.

    python bench/fanout.py --size small|full

Builds the users in PostgreSQL with generate_series in a database of its own (`<DATABASE_URL name>_bench`),
publishes a version, then times (1) one hand-written INSERT ... SELECT writing every announcement row and
(2) `policy_announcement_fanout`, which writes the same rows in chunks and queues their delivery. Prints one
row: scenario, ours, baseline, ratio, target, pass/fail. Delivery tasks go to an in-memory broker.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["CELERY_BROKER_URL"] = "memory://localhost/"

SIZES = {"small": 20_000, "full": 1_000_000}
TARGET = 2.0


def setup_django():
    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/fanout.py needs PostgreSQL (set DATABASE_URL).")
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"{db['NAME']}_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    return connection


def truncate(connection, *tables: str) -> None:
    from django.db import connection as conn

    names = ", ".join(conn.ops.quote_name(t) for t in tables)
    with conn.cursor() as cursor:
        cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def build_users(connection, n: int) -> None:
    """Insert n users in one statement: languages rotate, one in twenty has ended its agreement."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    expressions = {
        "password": "'!'",
        "email": "'bench' || g || '@example.kz'",
        "full_name": "'Bench User ' || g",
        "language": "(ARRAY['kk','ru','en'])[1 + mod(g, 3)]",
        "agreement_status": "CASE WHEN mod(g, 20) = 0 THEN 'ended' ELSE 'active' END",
        "agreement_ended_at": "CASE WHEN mod(g, 20) = 0 THEN now() - interval '1 day' END",
        "date_joined": "now() - interval '30 days'",
        "is_active": "true",
        "is_staff": "false",
        "is_superuser": "false",
    }
    columns, values, params = [], [], []
    for field in User._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.name in expressions:
            columns.append(field.column)
            values.append(expressions[field.name])
        elif not field.null:
            columns.append(field.column)
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(User._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"SELECT {', '.join(values)} FROM generate_series(1, %s) AS g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, n])
        cursor.execute(f"ANALYZE {qn(User._meta.db_table)}")


def baseline(connection, version) -> float:
    """Write the same rows with one plain INSERT ... SELECT, and return the seconds it took."""
    import json

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.notifications.models import OutboxEmail
    from apps.policies.services import policy_email_context

    User = get_user_model()
    ctx = {
        code: json.dumps(policy_email_context(version=version, language=code), ensure_ascii=False)
        for code in ("kk", "ru", "en")
    }
    sql = f"""
        INSERT INTO {OutboxEmail._meta.db_table}
            (dedup_key, template, "to", reply_to, language, context, user_id, status, attempts, last_error,
             provider_message_id, tracking_status, tracking_detail, created_at, updated_at)
        SELECT 'policy-announce:' || %(number)s || ':' || u.id, 'policy_announcement', u.email, '',
               CASE u.language WHEN 'ru' THEN 'ru' WHEN 'en' THEN 'en' ELSE 'kk' END,
               jsonb_build_object('full_name', u.full_name) || (CASE u.language WHEN 'ru' THEN %(ru)s::jsonb
                    WHEN 'en' THEN %(en)s::jsonb ELSE %(kk)s::jsonb END),
               u.id, 'pending', 0, '', '', '', '', %(now)s, %(now)s
        FROM {User._meta.db_table} u
        WHERE u.agreement_status = 'active' AND u.erased_at IS NULL AND u.is_active
          AND u.date_joined < %(published_at)s
        ON CONFLICT (dedup_key) DO NOTHING
    """
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {**ctx, "number": version.number, "now": timezone.now(), "published_at": version.published_at},
        )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    args = parser.parse_args()
    n = SIZES[args.size]
    connection = setup_django()

    from django.contrib.auth import get_user_model

    from apps.audit.models import AuditEvent
    from apps.notifications.models import OutboxEmail
    from apps.policies.models import PolicyText, PolicyVersion
    from apps.policies.services import policy_announcement_fanout, policy_import

    tables = [
        OutboxEmail._meta.db_table,
        AuditEvent._meta.db_table,
        PolicyText._meta.db_table,
        PolicyVersion._meta.db_table,
        get_user_model()._meta.db_table,
    ]
    truncate(connection, *tables)
    try:
        build_users(connection, n)
        text = (ROOT / "apps" / "policies" / "data" / "privacy_policy_kk.txt").read_text(encoding="utf-8")
        version = policy_import(text=text, language="kk", summary="Bench", number=1, publish=True)
        expected = n - n // 20

        base_seconds = baseline(connection, version)
        written = OutboxEmail.objects.count()
        truncate(connection, OutboxEmail._meta.db_table)

        started = time.perf_counter()
        ours_written = policy_announcement_fanout(version=version)
        ours_seconds = time.perf_counter() - started
        if not (written == ours_written == expected):
            print(f"row counts differ: baseline {written}, ours {ours_written}, expected {expected}")
            return 1
    finally:
        truncate(connection, *tables)

    ratio = ours_seconds / base_seconds
    verdict = "pass" if ratio <= TARGET else "FAIL"
    scenario = f"announcement fan-out, {n:,} users ({ours_written:,} rows)"
    print(f"{'scenario':<48} {'ours':>9} {'baseline':>9} {'ratio':>6} {'target':>7}  result")
    print(f"{scenario:<48} {ours_seconds:>8.2f}s {base_seconds:>8.2f}s {ratio:>6.2f} {'<= 2x':>7}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
