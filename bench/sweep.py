"""Benchmark of the implicit-acceptance sweep.

Builds N users (SIZE=small: 20,000; otherwise 1,000,000) who all used the service after the deadline of
the version in force, in a throw-away database `<DATABASE name>_bench`, then times:
  ours        the sweep service (chunked INSERT ... SELECT ... ON CONFLICT), in a child process whose
              peak RSS is reported, as a worker would run it;
  rerun       the same sweep again, when there is nothing left to do (its cost every beat);
  handwritten one INSERT ... SELECT ... WHERE NOT EXISTS over the whole table, for comparison.
Prints one row. Usage: DATABASE_URL=postgres://... SIZE=small python bench/sweep.py
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

USERS_SQL = """
INSERT INTO accounts_user (password, is_superuser, email, full_name, phone, language, agreement_status,
                           last_used_at, is_staff, is_active, date_joined)
SELECT '!', false, 'u' || g || '@bench.example', 'User ' || g, '', (ARRAY['kk', 'ru', 'en'])[1 + g %% 3],
       'active', %(used)s + (g %% 3600) * interval '1 second', false, true, %(joined)s
FROM generate_series(1, %(n)s) AS g
"""

HANDWRITTEN_SQL = """
INSERT INTO acceptances_acceptance
    (user_id, version_id, method, channel, accepted_at, recorded_at, ip, user_agent, language, text_sha256,
     used_at, use_source)
SELECT u.id, %(version)s, 'implicit', 'web', u.last_used_at, now(), NULL, '', 'kk', %(sha)s,
       u.last_used_at, 'web'
FROM accounts_user u
WHERE u.last_used_at >= %(deadline)s AND u.agreement_status = 'active' AND u.consent_withdrawn_at IS NULL
  AND u.erased_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM acceptances_acceptance a WHERE a.user_id = u.id AND a.version_id = %(version)s
  )
"""


def child() -> None:
    """Run the sweep as a worker would and report its time and this process's peak memory."""
    import resource

    from apps.acceptances.services import implicit_acceptance_sweep

    started = time.perf_counter()
    result = implicit_acceptance_sweep()
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "created": result["created"], "peak_mb": peak_kb / 1024}))


def explain_one_chunk(version) -> None:
    """Print the plan of the first chunk to stderr (BENCH_EXPLAIN=1); nothing is kept."""
    from django.db import transaction

    from apps.acceptances.services import _sweep_sql_and_params

    sql, params = _sweep_sql_and_params(version)
    params.update(
        version=version.pk,
        deadline=version.implicit_acceptance_at,
        now=timezone.now(),
        lo=0,
        hi=settings.IMPLICIT_SWEEP_CHUNK_SIZE,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)
        transaction.set_rollback(True)


def run_child(env: dict) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    size = os.environ.get("SIZE", "large")
    n = 20_000 if size == "small" else int(os.environ.get("BENCH_USERS", 1_000_000))
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"{db['NAME']}_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from apps.policies.models import PolicyText, PolicyVersion
        from apps.policies.selectors import implicit_acceptance_deadline, text_sha256

        published_at = timezone.now() - timedelta(days=10)
        version = PolicyVersion.objects.create(
            number=1,
            status=PolicyVersion.Status.PUBLISHED,
            published_at=published_at,
            implicit_acceptance_at=implicit_acceptance_deadline(published_at=published_at, days=7),
        )
        for language in ("kk", "ru", "en"):
            body = f"Policy text ({language})."
            PolicyText.objects.create(
                version=version, language=language, title="Policy", body=body, body_sha256=text_sha256(body)
            )
        deadline = version.implicit_acceptance_at
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(USERS_SQL, {"n": n, "used": deadline + timedelta(hours=1), "joined": published_at})
            cursor.execute("ANALYZE accounts_user")
        build = time.perf_counter() - started

        if os.environ.get("BENCH_EXPLAIN"):
            explain_one_chunk(version)
        env = {**os.environ, "DATABASE_URL": _url(db["TEST"]["NAME"])}
        ours = run_child(env)
        rerun = run_child(env)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM acceptances_acceptance WHERE version_id = %s", [version.pk])
            recorded = cursor.fetchone()[0]
            cursor.execute("TRUNCATE acceptances_acceptance")
            started = time.perf_counter()
            cursor.execute(
                HANDWRITTEN_SQL,
                {"version": version.pk, "deadline": deadline, "sha": text_sha256("Policy text (kk).")},
            )
            handwritten_rows = cursor.rowcount
            handwritten = time.perf_counter() - started
        assert recorded == n == handwritten_rows, (recorded, n, handwritten_rows)
        print(
            f"sweep users={n} build_s={build:.2f} ours_s={ours['seconds']:.2f} created={ours['created']} "
            f"rerun_s={rerun['seconds']:.2f} handwritten_s={handwritten:.2f} "
            f"ratio={ours['seconds'] / handwritten:.2f} chunk={settings.IMPLICIT_SWEEP_CHUNK_SIZE} "
            f"worker_peak_mb={ours['peak_mb']:.0f} load={os.getloadavg()[0]:.1f}"
        )
    finally:
        connection.creation.destroy_test_db(db["NAME"], verbosity=0)


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{auth}{'@' if auth else ''}{host}/{name}"


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        main()
