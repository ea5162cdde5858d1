"""Withdrawal form POST by signed-in users, 16 concurrent clients, vs a bare view that validates the same
form and inserts one row (bench/views.py, only in bench settings).

Each request is the next user's session with its CSRF cookie and token and a new submission token, so every
POST registers a new request: ours stores it, verifies it (reference, due date), writes its timeline and audit
rows and the two emails to the outbox, and queues their delivery after commit. Rate limits are off in bench
settings (RATELIMIT_ENABLE=False). Reported: requests per second and the 99th percentile of latency.
"""

from urllib.parse import urlencode

from bench.common import (
    Row,
    gunicorn,
    purge_broker,
    signed_in_users,
    warm_up,
    wrk_checked,
)

TARGET = 0.5
CONNECTIONS = 16

BODY = (
    urlencode(
        {
            "csrfmiddlewaretoken": "CSRF",
            "full_name": "Bench User",
            "phone": "",
            "scope": "partial",
            "purposes": "marketing",
            "reason": "No more offers, please.",
            "website": "",
            "submission_token": "UUID",
        }
    )
    .replace("CSRF", "{csrf}")
    .replace("UUID", "{uuid}")
)


def run(size: dict) -> list[Row]:

    from apps.withdrawals.models import WithdrawalRequest

    users = size["sessions"]
    sessions, path = signed_in_users(users)

    def load(base: str, url_path: str) -> dict:
        env = {
            "BENCH_PATH": url_path,
            "BENCH_METHOD": "POST",
            "BENCH_BODY": BODY,
            "BENCH_SESSIONS": str(path),
            "BENCH_EXPECT": "302",
        }
        duration = size["duration"]
        return wrk_checked(
            f"{base}{url_path}", script="load.lua", duration=duration, connections=CONNECTIONS, env=env
        )

    ours_runs, baseline_runs = [], []
    try:
        with gunicorn("bench.settings") as base:
            warm_up(base, "/", sessions)
            for turn in range(size["rounds"]):
                pair = [("ours", "/privacy/withdraw/"), ("bare", "/bench/bare-withdraw/")]
                for name, url_path in pair if turn % 2 == 0 else reversed(pair):
                    before = WithdrawalRequest.objects.filter(status="submitted").count()
                    report = load(base, url_path)
                    (ours_runs if name == "ours" else baseline_runs).append(report)
                    if name == "ours":
                        registered = WithdrawalRequest.objects.filter(status="submitted").count() - before
                        if registered < report["requests"]:
                            raise RuntimeError(f"{report['requests']} POSTs registered {registered} requests")
    finally:
        purge_broker()
    ours = max(ours_runs, key=lambda r: r["rps"])
    baseline = max(baseline_runs, key=lambda r: r["rps"])
    ratio = ours["rps"] / baseline["rps"]
    return [
        Row(
            f"withdrawal POST, signed in, {CONNECTIONS} clients",
            ours["rps"],
            baseline["rps"],
            "req/s",
            ratio,
            f">= {TARGET}",
            ratio >= TARGET,
            note=f"p99 {ours['p99_ms']:.0f} vs {baseline['p99_ms']:.0f} ms",
        )
    ]


if __name__ == "__main__":
    import sys

    from bench.run import main

    raise SystemExit(main(["--only", "withdraw", *sys.argv[1:]]))
