"""Implicit-acceptance sweep vs one hand-written INSERT ... SELECT ... WHERE NOT EXISTS on the same tables.

    python -m bench.sweep --size small|full

Every user used the portal after the deadline of the version in force. Ours: `implicit_acceptance_sweep`
(chunked INSERT ... SELECT ... ON CONFLICT by id range) run in a process of its own, as a worker runs it,
which reports its time and its peak resident memory (VmHWM). Baseline: one hand-written statement over the
whole table. Targets: ours <= 1.5x the baseline, and the process's peak memory < 300 MB.
"""

import json
import subprocess
import sys
import time
from datetime import timedelta

from bench.common import ROOT, Row, bench_env, make_users, peak_rss_mb, policy_publish, reset_tables

TARGET = 1.5
MEMORY_TARGET_MB = 300

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
    """Run the sweep as a worker would; print its time, rows and this process's peak memory as JSON."""
    import os

    import django

    django.setup()
    from apps.acceptances.services import implicit_acceptance_sweep

    started = time.perf_counter()
    result = implicit_acceptance_sweep()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "created": result["created"], "peak_mb": peak_rss_mb(os.getpid())}))


def _run_child() -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.sweep", "--child"],
        env=bench_env(),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run(size: dict) -> list[Row]:
    from django.db import connection

    from apps.policies.models import PolicyText

    count = size["users"]
    reset_tables()
    version = policy_publish()
    first_use = (version.implicit_acceptance_at + timedelta(hours=1)).isoformat()
    make_users(count, last_used_at_sql=f"'{first_use}'::timestamptz + mod(g, 3600) * interval '1 second'")

    ours = _run_child()
    rerun = _run_child()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM acceptances_acceptance WHERE version_id = %s", [version.pk])
        recorded = cursor.fetchone()[0]
        cursor.execute("TRUNCATE acceptances_acceptance")
        sha = PolicyText.objects.get(version=version, language="kk").body_sha256
        started = time.perf_counter()
        cursor.execute(
            HANDWRITTEN_SQL, {"version": version.pk, "deadline": version.implicit_acceptance_at, "sha": sha}
        )
        handwritten_rows = cursor.rowcount
        handwritten = time.perf_counter() - started
    if not (recorded == ours["created"] == handwritten_rows == count) or rerun["created"] != 0:
        raise RuntimeError(
            f"rows differ: ours {ours['created']} (recorded {recorded}, rerun {rerun['created']}), "
            f"handwritten {handwritten_rows}, users {count}"
        )
    ratio = ours["seconds"] / handwritten
    return [
        Row(
            f"implicit-acceptance sweep, {count:,} users",
            ours["seconds"],
            handwritten,
            "s",
            ratio,
            f"<= {TARGET:g}x, < {MEMORY_TARGET_MB} MB",
            ratio <= TARGET and ours["peak_mb"] < MEMORY_TARGET_MB,
            note=f"worker peak {ours['peak_mb']:.0f} MB; rerun {rerun['seconds']:.2f} s",
        )
    ]


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        from bench.run import main

        raise SystemExit(main(["--only", "sweep", *sys.argv[1:]]))
