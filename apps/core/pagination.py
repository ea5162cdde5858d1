"""Admin pagination for tables that grow to millions of rows."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# From this many rows (by the planner's estimate) an unfiltered list shows the estimate, not an exact count.
ESTIMATE_FROM_ROWS = 10_000


class LargeTablePaginator(Paginator):
    """Count a whole table by PostgreSQL's estimate instead of `COUNT(*)`, which reads every row.

    A filtered or searched list, a small table, a table never analysed and other databases are counted
    exactly. The estimate is the one autovacuum keeps (pg_class.reltuples): close, not exact, which is all a
    page count needs.
    """

    @cached_property
    def count(self) -> int:
        estimate = self._whole_table_estimate()
        if estimate is not None and estimate >= ESTIMATE_FROM_ROWS:
            return estimate
        return super().count

    def _whole_table_estimate(self) -> int | None:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None or query.where or query.distinct or query.combinator or query.is_sliced:
            return None
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [connection.ops.quote_name(queryset.model._meta.db_table)],
            )
            row = cursor.fetchone()
        if row is None or row[0] < 0:
            return None
        return int(row[0])
