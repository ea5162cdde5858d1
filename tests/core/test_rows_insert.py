"""config.db.rows_insert: the rows of one change written together, as save() would write them."""

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.withdrawals.models import TimelineEntry
from config.db import Rows, rows_insert
from tests.accounts.factories import UserFactory
from tests.withdrawals.factories import submit

pytestmark = pytest.mark.django_db

FIXED = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "other"])
def vendor(request, monkeypatch):
    """Run each test through the one-statement path and through the one-INSERT-per-model path."""
    if request.param == "other":
        monkeypatch.setattr(connection, "vendor", "other")
    return request.param


def email(key: str, **fields) -> OutboxEmail:
    return OutboxEmail(
        dedup_key=key, to="a@example.kz", template="t", language="kk", context={"n": 1, "text": "ä"}, **fields
    )


def test_rows_of_several_models_are_written_and_get_their_ids(vendor):
    user = UserFactory()
    withdrawal = submit()
    entries = [TimelineEntry(request=withdrawal, kind="note", text=f"note {n}", actor=user) for n in range(3)]
    details = {"list": [1, "x"], "nested": {"a": None}}
    event = AuditEvent(actor=user, action="test.one", details=details, ip="::1")
    emails = [email("k1", user=user), email("k2")]
    with CaptureQueriesContext(connection) as queries:
        rows_insert(Rows(entries), Rows([event]), Rows(emails, skip_duplicate="dedup_key"))
    assert len([q for q in queries.captured_queries if q["sql"].startswith(("WITH", "INSERT"))]) == (
        1 if vendor == "postgresql" else 3
    )
    assert all(entry.pk and not entry._state.adding for entry in entries)
    stored = TimelineEntry.objects.filter(kind="note").order_by("id")
    assert [(e.pk, e.text, e.actor_id) for e in stored] == [(e.pk, e.text, user.pk) for e in entries]
    saved = AuditEvent.objects.get(pk=event.pk)
    assert saved.details == details and saved.ip == "::1"
    assert saved.created_at is not None  # auto_now_add, as save() sets it
    assert {
        (e.dedup_key, e.user_id, e.context["text"]) for e in OutboxEmail.objects.filter(template="t")
    } == {
        ("k1", user.pk, "ä"),
        ("k2", None, "ä"),
    }


def test_a_row_whose_unique_key_exists_is_skipped_and_keeps_no_id(vendor):
    rows_insert(Rows([email("same")], skip_duplicate="dedup_key"))
    again, new = email("same"), email("new")
    rows_insert(Rows([again, new], skip_duplicate="dedup_key"))
    assert again.pk is None and again._state.adding
    assert new.pk is not None
    assert OutboxEmail.objects.filter(template="t").count() == 2


def test_a_timestamp_set_beforehand_and_a_preset_id_are_kept(vendor):
    event = AuditEvent(action="test.moment", created_at=FIXED)
    rows_insert(Rows([event]))
    assert AuditEvent.objects.get(pk=event.pk).created_at == FIXED
    entry = TimelineEntry(id=10_000_000, request=submit(), kind="note", created_at=FIXED)
    rows_insert(Rows([entry]))
    assert TimelineEntry.objects.get(pk=10_000_000).created_at == FIXED


@pytest.mark.django_db(transaction=True)
def test_one_bad_row_writes_nothing_of_any_group(vendor):
    withdrawal = submit()
    before = (TimelineEntry.objects.count(), AuditEvent.objects.count())
    good = AuditEvent(action="test.good")
    bad = TimelineEntry(request_id=withdrawal.pk, kind="x" * 500)  # longer than the column allows
    with pytest.raises(DatabaseError):
        rows_insert(Rows([good]), Rows([bad]))
    assert (TimelineEntry.objects.count(), AuditEvent.objects.count()) == before
    assert good.pk is None
