"""Withdrawal form POST by signed-in users, 16 concurrent clients, vs a bare view that validates the same
form and writes the same rows with plain ORM calls in one transaction (bench/views.py, only in bench
settings).

Each request is the next user's session with its CSRF cookie and token and a new submission token, so every
POST registers a new request: both paths store it registered (reference from the year's counter, due date),
write its two timeline entries, its two audit events and its two emails to the outbox, and queue their
delivery after commit. The target is what our path adds around those writes (the service's validation, the
resubmission check, the outbox's de-duplication, the redirect to the status page with its message). Rate
limits are off in bench settings (RATELIMIT_ENABLE=False). Reported: requests per second and the 99th
percentile of latency; the rows each path wrote for its last request are compared.
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

TARGET = 0.9
CONNECTIONS = 16

BODY = (
    urlencode(
        {
            "csrfmiddlewaretoken": "CSRF",
            "full_name": "Bench User",
            "phone": "",
            "scope": "partial",
            "purposes": "marketing",
            # Each request its own words: the same words from the same person within two days are taken
            # for the same form sent again, and show the request already made.
            "reason": "No more offers, please (UUID).",
            "website": "",
            "submission_token": "UUID",
        }
    )
    .replace("CSRF", "{csrf}")
    .replace("UUID", "{uuid}")
)


def _rows_written(withdrawal) -> dict:
    """What a registration wrote for `withdrawal`, without what differs from one request to the next (ids,
    moments, reference, tokens): the request's fields, its timeline, audit events and emails."""
    from apps.audit.models import AuditEvent
    from apps.notifications.models import OutboxEmail

    requester, pk = withdrawal.requester_id, withdrawal.pk
    fields = (
        "status", "full_name", "phone", "scope", "purposes", "reason", "acknowledgement", "language",
        "requester_email_verified",
    )  # fmt: skip
    request = {name: getattr(withdrawal, name) for name in (*fields, "ip", "user_agent")}
    request["reason"] = withdrawal.reason.rsplit(" (", 1)[0]  # each request's own words end with its token
    request["registered"] = bool(withdrawal.reference and withdrawal.verified_at and withdrawal.due_at)
    request["email_is_account's"] = withdrawal.email == withdrawal.requester.email
    timeline = sorted(
        (entry.kind, entry.visible_to_requester, entry.text, entry.actor_id == requester)
        for entry in withdrawal.timeline.all()
    )
    audit = sorted(
        (
            event.action,
            event.actor_id == requester,
            event.target_label == withdrawal.reference,
            event.ip,
            sorted(event.details.items()) if "due_at" not in event.details else sorted(event.details),
        )
        for event in AuditEvent.objects.filter(target_type="withdrawals.withdrawalrequest", target_id=str(pk))
    )
    outbox = sorted(
        (
            email.topic,
            email.template,
            email.dedup_key.replace(str(pk), "<pk>"),
            email.to == withdrawal.email,
            email.reply_to == withdrawal.email,
            email.language,
            sorted(email.context),
            email.user_id == requester,
            email.status,
        )
        for email in OutboxEmail.objects.filter(object_id=pk)
    )
    return {"request": request, "timeline": timeline, "audit": audit, "outbox": outbox}


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
    written: dict[str, dict] = {}
    try:
        with gunicorn("bench.settings") as base:
            warm_up(base, "/", sessions)
            for turn in range(size["rounds"]):
                pair = [("ours", "/privacy/withdraw/"), ("bare", "/bench/bare-withdraw/")]
                for name, url_path in pair if turn % 2 == 0 else reversed(pair):
                    before = WithdrawalRequest.objects.filter(status="submitted").count()
                    report = load(base, url_path)
                    (ours_runs if name == "ours" else baseline_runs).append(report)
                    registered = WithdrawalRequest.objects.filter(status="submitted").count() - before
                    if registered < report["requests"]:
                        raise RuntimeError(
                            f"{name}: {report['requests']} POSTs registered {registered} requests"
                        )
                    written[name] = _rows_written(WithdrawalRequest.objects.latest("pk"))
    finally:
        purge_broker()
    if written["ours"] != written["bare"]:
        raise RuntimeError(f"the paths wrote different rows:\nours {written['ours']}\nbare {written['bare']}")
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
