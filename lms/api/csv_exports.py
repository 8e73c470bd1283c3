"""The raw CSV exports' one shape: a header row of column keys, then one row per item,
with each column's meaning written where the OpenAPI document describes the export.

The exports are enough to recount every figure of /api/v1/metrics
(tests/lms/test_metrics_reproducible.py does, from them alone), so each column says
what it holds and which rule it feeds."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Mapping

from flask import Response


def iso(value) -> str:
    """A moment or a day in ISO 8601, or empty."""
    return value.isoformat() if value else ""


def csv_response(filename: str, columns: Iterable[str], rows: Iterable[Iterable]) -> Response:
    """The export ``filename``: the header row, then ``rows`` (None written empty)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(columns))
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def export_responses(what: str, columns: Mapping[str, str]) -> dict:
    """The OpenAPI responses of an export: ``what`` one row is, and each column's meaning."""
    listed = "\n".join(f"- `{name}`: {meaning}" for name, meaning in columns.items())
    return {
        "200": {"description": f"CSV with a header row of these keys, then one {what} a row:\n\n{listed}",
                "content": {"text/csv": {"schema": {"type": "string"}}}},
        "401": {"description": "No valid token", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}},
    }
