"""What "never half-stored" means, as SQL: each query counts the rows that break one rule.

They run on any cursor (Django's connection or psycopg on a private cluster), so the scenarios that restart
PostgreSQL check the same rules as the others.
"""

WITHDRAWAL = "withdrawals_withdrawalrequest"
TIMELINE = "withdrawals_timelineentry"
AUDIT = "audit_auditevent"
OUTBOX = "notifications_outboxemail"
USERS = "accounts_user"
ACCEPTANCE = "acceptances_acceptance"


def _audited(action: str, target_type: str, alias: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {AUDIT} a WHERE a.action = '{action}' AND a.target_type = '{target_type}' "
        f"AND a.target_id = {alias}.id::text)"
    )


def _timeline(kind: str) -> str:
    return f"EXISTS (SELECT 1 FROM {TIMELINE} t WHERE t.request_id = w.id AND t.kind = '{kind}')"


def _email(key: str) -> str:
    return f"EXISTS (SELECT 1 FROM {OUTBOX} o WHERE o.dedup_key = 'withdrawal:' || w.id || ':{key}')"


WR = "withdrawals.withdrawalrequest"

RULES: dict[str, str] = {
    "request without its 'submitted' timeline entry": (
        f"SELECT count(*) FROM {WITHDRAWAL} w WHERE NOT {_timeline('submitted')}"
    ),
    "request without its submit audit event": (
        f"SELECT count(*) FROM {WITHDRAWAL} w WHERE NOT {_audited('withdrawal.submit', WR, 'w')}"
    ),
    "unconfirmed request without its confirm email": (
        f"SELECT count(*) FROM {WITHDRAWAL} w WHERE w.status = 'unverified' AND NOT {_email('confirm')}"
    ),
    "registered request without reference, due date, timeline, audit or emails": (
        f"SELECT count(*) FROM {WITHDRAWAL} w WHERE w.status <> 'unverified' AND ("
        "w.reference IS NULL OR w.reference = '' OR w.due_at IS NULL OR w.verified_at IS NULL "
        f"OR NOT {_timeline('verified')} OR NOT {_audited('withdrawal.verify', WR, 'w')} "
        f"OR NOT {_email('application')} OR NOT {_email('received')})"
    ),
    "decided request without its decision entry, audit event or email": (
        f"SELECT count(*) FROM {WITHDRAWAL} w WHERE w.status IN ('granted', 'refused') AND ("
        "NOT EXISTS (SELECT 1 FROM withdrawals_timelineentry t WHERE t.request_id = w.id "
        "AND t.kind = w.status) "
        f"OR NOT EXISTS (SELECT 1 FROM {AUDIT} a WHERE a.target_type = '{WR}' "
        "AND a.target_id = w.id::text AND a.action = CASE w.status WHEN 'granted' THEN 'withdrawal.grant' "
        "ELSE 'withdrawal.refuse' END) "
        f"OR NOT {_email('decision')})"
    ),
    "two requests from one submission": (
        f"SELECT count(*) FROM (SELECT submission_token FROM {WITHDRAWAL} GROUP BY 1 HAVING count(*) > 1) d"
    ),
    "signed-up user without the sign-up acceptance": (
        f"SELECT count(*) FROM {USERS} u WHERE {_audited('account.signup', 'accounts.user', 'u')} "
        f"AND EXISTS (SELECT 1 FROM policies_policyversion v WHERE v.status = 'published' "
        "AND v.published_at < u.date_joined) "
        f"AND NOT EXISTS (SELECT 1 FROM {ACCEPTANCE} c WHERE c.user_id = u.id AND c.method = 'signup')"
    ),
    "acceptance (button, sign-up or API) without its audit event": (
        f"SELECT count(*) FROM {ACCEPTANCE} c WHERE c.method <> 'implicit' "
        f"AND NOT {_audited('acceptance.record', 'acceptances.acceptance', 'c')}"
    ),
    "two acceptances of one version by one user": (
        f"SELECT count(*) FROM (SELECT user_id, version_id FROM {ACCEPTANCE} GROUP BY 1, 2 "
        "HAVING count(*) > 1) d"
    ),
}


def violations(cursor) -> dict[str, int]:
    """Return every broken rule with its count (empty when all hold)."""
    found = {}
    for name, sql in RULES.items():
        cursor.execute(sql)
        count = cursor.fetchone()[0]
        if count:
            found[name] = count
    return found
