import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.core import pagination
from apps.core.pagination import LargeTablePaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    for number in range(30):
        audit_event_record(action=f"bench.{number % 3}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")


def _counts(paginator) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        count = paginator.count
    return count, [query["sql"] for query in captured.captured_queries]


def test_a_whole_large_table_is_counted_by_the_estimate(events, monkeypatch):
    monkeypatch.setattr(pagination, "ESTIMATE_FROM_ROWS", 10)
    count, sql = _counts(LargeTablePaginator(AuditEvent.objects.order_by("-id"), 10))
    assert count == 30
    assert not any("COUNT(" in query.upper() for query in sql)
    assert any("reltuples" in query for query in sql)


def test_a_filtered_list_or_a_small_table_is_counted_exactly(events, monkeypatch):
    monkeypatch.setattr(pagination, "ESTIMATE_FROM_ROWS", 10)
    count, sql = _counts(LargeTablePaginator(AuditEvent.objects.filter(action="bench.1"), 10))
    assert count == 10 and any("COUNT(" in query.upper() and "WHERE" in query for query in sql)
    monkeypatch.setattr(pagination, "ESTIMATE_FROM_ROWS", 1000)
    count, sql = _counts(LargeTablePaginator(AuditEvent.objects.all(), 10))
    assert count == 30 and any("COUNT(" in query.upper() for query in sql)


def test_admin_lists_of_the_large_tables_use_it():
    from django.contrib import admin

    from apps.acceptances.models import Acceptance
    from apps.notifications.models import OutboxEmail
    from apps.withdrawals.models import WithdrawalRequest

    for model in (WithdrawalRequest, Acceptance, OutboxEmail, AuditEvent):
        assert admin.site._registry[model].paginator is LargeTablePaginator
