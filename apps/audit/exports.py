"""Streamed CSV exports for the admin. Every export is itself an audit event."""

import csv
from collections.abc import Callable, Iterable
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from .services import audit_event_record, client_ip

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value: Any) -> str:
    """Render a cell so that spreadsheets do not execute it as a formula."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_export_response(
    *,
    request,
    rows: Iterable[Any],
    columns: list[tuple[str, Callable[[Any], Any]]],
    name: str,
    target_type: str,
    count: int | None = None,
    details: dict | None = None,
) -> StreamingHttpResponse:
    """Record the export, then stream `rows` as CSV with the given (header, getter) columns.

    `details` adds to the audit event what the query string cannot tell (e.g. the selected ids).
    """
    audit_event_record(
        actor=request.user,
        action="export.csv",
        target_type=target_type,
        target_label=name,
        details={"rows": count, "query": request.GET.urlencode()[:500], **(details or {})},
        ip=client_ip(request),
    )
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"
        yield writer.writerow([str(header) for header, _getter in columns])
        for row in rows:
            yield writer.writerow([_safe(getter(row)) for _header, getter in columns])

    filename = f"{name}-{timezone.localtime():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
