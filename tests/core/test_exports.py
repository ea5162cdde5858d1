from datetime import UTC, datetime

from apps.core.exports import csv_export_response


def _body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_csv_export_streams_a_header_and_one_line_per_row_as_a_download():
    rows = [{"name": "Aigul", "at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC)}, {"name": "Nurlan", "at": None}]
    response = csv_export_response(
        rows=iter(rows), columns=[("name", lambda r: r["name"]), ("at", lambda r: r["at"])], name="people"
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="people-')
    assert response["Content-Disposition"].endswith('.csv"')
    body = _body(response)
    assert body.startswith("\ufeff")
    assert body.lstrip("\ufeff").splitlines() == ["name,at", "Aigul,2026-03-01T09:30:00+00:00", "Nurlan,"]


def test_csv_export_neutralises_cells_a_spreadsheet_would_run_as_formulas():
    values = ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "plain"]
    response = csv_export_response(rows=values, columns=[("value", lambda v: v)], name="cells")
    lines = _body(response).lstrip("\ufeff").splitlines()
    assert lines[1:] == ["'=HYPERLINK(1)", "'+1", "'-1", "'@SUM(A1)", "plain"]
