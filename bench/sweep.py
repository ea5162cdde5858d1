"""Implicit-acceptance sweep vs one hand-written INSERT ... SELECT ... WHERE NOT EXISTS on the same tables.

    python -m bench.sweep --size small|full

Every user accepted the previous version and used the portal after the deadline of the version in force
(all in Kazakh; no use reports). Ours: `implicit_acceptance_sweep` (one INSERT ... SELECT per range of user
ids, taking each user's earliest use after the deadline, of the portal or reported, with a ROW_NUMBER
window, and skipping those who accepted) run in a process of its own, as a worker runs it, which reports its
time and its peak resident memory (VmHWM); then once more, with nothing left to do (the cost of every
beat). Baseline: one hand-written statement over the whole table, reading the users' last use, on the same
table. Both write the same rows: every column but the id and the moment of recording is compared. Targets:
ours <= 1.5x the baseline, and the process's peak memory < 300 MB.
"""

import json
import subprocess
import sys
import time
from datetime import timedelta

from bench.common import (
    ROOT,
    Row,
    accept_all,
    bench_env,
    fingerprints_differ,
    make_users,
    peak_rss_mb,
    policy_publish,
    reset_tables,
    rows_fingerprint,
)

TARGET = 1.5
MEMORY_TARGET_MB = 300
# Ranges of user ids the small size's sweep takes (the full size's 1,000,000 users make 50 of 20,000).
RANGES = 5
# Columns that differ by nature between two writes of the same rows.
NOT_COMPARED = ("id", "recorded_at")

HANDWRITTEN_SQL = """
INSERT INTO acceptances_acceptance
    (user_id, version_id, method, channel, accepted_at, recorded_at, ip, user_agent, language, text_sha256,
     used_at, use_source, email_verified)
SELECT u.id, %(version)s, 'implicit', 'web', u.last_used_at, now(), NULL, '', 'kk', %(sha)s,
       u.last_used_at, 'web', u.email_verified_at IS NOT NULL
FROM accounts_user u
WHERE u.last_used_at >= %(deadline)s AND u.last_used_at <= now()
  AND u.agreement_status = 'active' AND u.consent_withdrawn_at IS NULL AND u.erased_at IS NULL AND u.is_active
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


def _run_child(size: dict) -> dict:
    # At the product's 20,000 ids per range the small size would sweep in one range; it takes a few, so that
    # a cost which grows with the ranges already swept (the full size takes 50) shows at that size too.
    ranges = {"IMPLICIT_SWEEP_CHUNK_SIZE": str(size["users"] // RANGES)} if size["name"] == "small" else {}
    output = subprocess.run(
        [sys.executable, "-m", "bench.sweep", "--child"],
        env=bench_env(**ranges),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run(size: dict) -> list[Row]:
    from django.db import connection

    from apps.acceptances.models import Acceptance
    from apps.policies.models import PolicyText

    count = size["users"]
    reset_tables()
    # Every user accepted the version before, so the sweep writes into a table that holds (and whose
    # statistics know) a version's worth of acceptances, as in production, whatever scenario ran before.
    previous = policy_publish(number=1, published_days_ago=60)
    version = policy_publish(number=2)
    first_use = (version.implicit_acceptance_at + timedelta(hours=1)).isoformat()
    make_users(count, last_used_at_sql=f"'{first_use}'::timestamptz + mod(g, 3600) * interval '1 second'")
    accept_all(previous)

    ours = _run_child(size)
    rerun = _run_child(size)
    swept = {"exclude": NOT_COMPARED, "where": "version_id = %s", "params": (version.pk,)}
    ours_rows = rows_fingerprint(Acceptance, **swept)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE acceptances_acceptance")
    accept_all(previous)
    sha = PolicyText.objects.get(version=version, language="kk").body_sha256
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            HANDWRITTEN_SQL, {"version": version.pk, "deadline": version.implicit_acceptance_at, "sha": sha}
        )
        handwritten_rows = cursor.rowcount
        handwritten = time.perf_counter() - started
    if not (ours_rows["rows"] == ours["created"] == handwritten_rows == count) or rerun["created"] != 0:
        raise RuntimeError(
            f"rows differ: ours {ours['created']} (recorded {ours_rows['rows']}, rerun {rerun['created']}), "
            f"handwritten {handwritten_rows}, users {count}"
        )
    if differ := fingerprints_differ(ours_rows, rows_fingerprint(Acceptance, **swept)):
        raise RuntimeError(f"the hand-written rows differ from ours in {', '.join(differ)}")
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
