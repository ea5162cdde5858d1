"""Announcement to every user: the fan-out service vs one hand-written INSERT ... SELECT of the same rows.

    python -m bench.fanout --size small|full

Users are built with generate_series (one in twenty with an ended agreement, who must not be told; languages
rotate). Ours: `policy_announcement_fanout`, which calls `outbox_fanout` once per range of user ids (one
transaction each, moving the version's cursor, resumable) and queues their delivery in batches through the
broker. Baseline: one INSERT ... SELECT over every user. Both write the same rows (topic
"policy.announcement", object id the version's): every column but the id and the moments of writing is
compared.
"""

import json
import time

from bench.common import (
    Row,
    fingerprints_differ,
    make_users,
    policy_publish,
    purge_broker,
    reset_tables,
    rows_fingerprint,
)

# Columns that differ by nature between two writes of the same rows.
NOT_COMPARED = ("id", "created_at", "updated_at")

TARGET = 2.0

BASELINE_SQL = """
    INSERT INTO notifications_outboxemail
        (dedup_key, topic, object_id, template, "to", reply_to, language, context, user_id, status, attempts,
         last_error, provider_message_id, tracking_status, tracking_detail, created_at, updated_at)
    SELECT 'policy-announce:' || %(number)s || ':' || u.id, 'policy.announcement', %(version)s,
           'policy_announcement', u.email, '',
           CASE u.language WHEN 'ru' THEN 'ru' WHEN 'en' THEN 'en' ELSE 'kk' END,
           jsonb_build_object('full_name', u.full_name) || (CASE u.language WHEN 'ru' THEN %(ru)s::jsonb
                WHEN 'en' THEN %(en)s::jsonb ELSE %(kk)s::jsonb END),
           u.id, 'pending', 0, '', '', '', '', %(now)s, %(now)s
    FROM accounts_user u
    WHERE u.agreement_status = 'active' AND u.consent_withdrawn_at IS NULL AND u.erased_at IS NULL
      AND u.is_active AND u.date_joined < %(published_at)s
    ON CONFLICT (dedup_key) DO NOTHING
"""


def _baseline(version) -> tuple[float, int]:
    from django.db import connection
    from django.utils import timezone

    from apps.policies.services import policy_email_context

    contexts = {
        code: json.dumps(policy_email_context(version=version, language=code), ensure_ascii=False)
        for code in ("kk", "ru", "en")
    }
    params = {**contexts, "number": version.number, "version": version.pk, "now": timezone.now()}
    params["published_at"] = version.published_at
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, params)
        written = cursor.rowcount
    return time.perf_counter() - started, written


def run(size: dict) -> list[Row]:
    from apps.notifications.models import OutboxEmail
    from apps.policies.services import policy_announcement_fanout

    count = size["users"]
    reset_tables()
    make_users(
        count,
        language_sql="(ARRAY['kk','ru','en'])[1 + mod(g, 3)]",
        agreement_status="CASE WHEN mod(g, 20) = 0 THEN 'ended' ELSE 'active' END",
        agreement_ended_at="CASE WHEN mod(g, 20) = 0 THEN now() - interval '1 day' END",
    )
    version = policy_publish()
    expected = count - count // 20
    try:
        baseline_seconds, baseline_written = _baseline(version)
        baseline_rows = rows_fingerprint(OutboxEmail, exclude=NOT_COMPARED)
        reset_tables("notifications_outboxemail")
        started = time.perf_counter()
        written = policy_announcement_fanout(version=version)
        ours_seconds = time.perf_counter() - started
        ours_rows = rows_fingerprint(OutboxEmail, exclude=NOT_COMPARED)
    finally:
        purge_broker()
    if not (baseline_written == written == ours_rows["rows"] == expected):
        raise RuntimeError(
            f"row counts differ: baseline {baseline_written}, ours {written}, outbox {ours_rows['rows']}, "
            f"expected {expected}"
        )
    if differ := fingerprints_differ(ours_rows, baseline_rows):
        raise RuntimeError(f"the baseline's rows differ from ours in {', '.join(differ)}")
    ratio = ours_seconds / baseline_seconds
    return [
        Row(
            f"announcement fan-out, {count:,} users",
            ours_seconds,
            baseline_seconds,
            "s",
            ratio,
            f"<= {TARGET:g}x",
            ratio <= TARGET,
            note=f"{written:,} rows",
        )
    ]


if __name__ == "__main__":
    from bench.run import main

    raise SystemExit(main(["--only", "fanout", *__import__("sys").argv[1:]]))
