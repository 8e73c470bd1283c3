"""Table downloads: CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
accents right) and XLSX (openpyxl), both safe against formula injection."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from typing import Iterable, Sequence

from flask import Response

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value) -> str:
    """Neutralise spreadsheet formula injection: a text cell never starts with = + - @."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _cell(value):
    """Numbers stay numbers (so sums work in a spreadsheet); everything else is safe text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return safe_cell(value)


def _disposition(filename: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers=_disposition(filename + ".csv"))


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence], title: str = "Data") -> Response:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX_MIMETYPE, headers=_disposition(filename + ".xlsx"))


def table_response(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence],
                   title: str = "Data") -> Response:
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows, title)
    return csv_response(filename, header, rows)
