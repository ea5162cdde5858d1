"""Streamed CSV exports for the admin. The caller records the export in the audit log first."""

import csv
from collections.abc import Callable, Iterable
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

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
    *, rows: Iterable[Any], columns: list[tuple[str, Callable[[Any], Any]]], name: str
) -> StreamingHttpResponse:
    """Stream `rows` as CSV with the given (header, getter) columns, as a download named `name`-<time>.csv."""
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
