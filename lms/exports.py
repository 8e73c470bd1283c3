"""Table downloads: CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
accents right) and XLSX (openpyxl), both safe against formula injection.

A report's download (``Download``, sent by ``download_response``) describes itself: its
columns carry the labels shown on screen, in the reader's language, and stable machine
keys; what it holds (the table, the period, the filters, when it was made, by which
version, where the definitions live) is written in the file and in its name
(``records_2026-01-01_2026-12-31_country-GH.csv``).

The CSV layout, in sections separated by one empty row::

    #export,Table,records,Records by organisation          <- the about block: one row a
    #period,Period,2026-01-01,2026-12-31,From ... (UTC)       setting, "#" and a stable key,
    #filter.country,Country,GH,Ghana                          its label, then its values
    #filter.sector,Sector,,All sectors                        (an empty value: not filtered)
    #generated_at,Generated at,2026-05-04T09:30:00+00:00
    #lms_version,LMS version,0.1.0
    #definitions,Definitions,lms/metrics/definitions.py,...
                                                           <- an empty row
    Organisation,Kind,Course completions,...               <- labels, as on screen
    name,kind,completions,...                              <- machine keys
    Adom Cocoa,sme,4,...                                   <- one row per row of the table

A download of several tables (the cascade view) repeats the last three parts, each
table after an empty row. No data row is ever empty, so a reader splits the file at
the empty rows: the first section is the about block, each further one a table whose
second row names its columns. The XLSX file holds each table on its own sheet (the
labels in the first row), then an "About" sheet (the about block as key, label and
values) and a "Columns" sheet (each column's key, label and definition). Sheet names
are fixed, whatever the reader's language, so programs find them.

Raw machine exports (``/api/v1/exports/*.csv``) are not made here: SPEC section 8
fixes them as a plain header row of keys.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Iterable, Sequence

from flask import Response
from flask_babel import lazy_gettext as _l

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ABOUT_SHEET = "About"
COLUMNS_SHEET = "Columns"
#: the About and Columns sheets' headings
SHEET_HEADINGS = {"sheet": _l("Sheet"), "key": _l("Key"), "label": _l("Label"), "value": _l("Value"),
                  "definition": _l("Definition")}


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


def lms_version() -> str:
    """The installed LMS's version (the wheel's metadata), written into every download."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alliance87-lms")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


# -- self-describing downloads ------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str  # stable: the second header row of a CSV, the Columns sheet
    label: object  # as on screen (a lazy string: the reader's language)
    definition: object = ""  # what the column holds (lazy), for the Columns sheet


@dataclass
class Table:
    sheet: str  # the XLSX sheet's name (fixed, at most 31 characters)
    columns: Sequence[Column]
    rows: Iterable[Sequence]


@dataclass(frozen=True)
class Setting:
    """One row of the about block: a stable key, its label (lazy) and its values."""

    key: str
    label: object
    values: tuple = ()
    #: this setting's part of the file name ("country-GH"); "" for none
    slug: str = ""


@dataclass
class Download:
    name: str  # the file name's first part: "records"
    tables: list[Table]
    about: list[Setting] = field(default_factory=list)

    def filename(self) -> str:
        return "_".join([self.name, *(s.slug for s in self.about if s.slug)])


def slug(value) -> str:
    """A file-name-safe form of a filter value: ASCII letters, digits, ``-`` and ``.``."""
    import unicodedata

    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-.")[:40] or "x"


def about_rows(download: Download) -> list[list]:
    return [[f"#{s.key}", s.label, *s.values] for s in download.about]


def csv_download(download: Download) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([_cell(v) for v in row] for row in about_rows(download))
    for table in download.tables:
        writer.writerow([])
        writer.writerow([safe_cell(c.label) for c in table.columns])
        writer.writerow([safe_cell(c.key) for c in table.columns])
        writer.writerows([_cell(v) for v in row] for row in table.rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers=_disposition(download.filename() + ".csv"))


def xlsx_download(download: Download) -> Response:
    from openpyxl import Workbook

    labels = SHEET_HEADINGS
    book = Workbook(write_only=True)
    for table in download.tables:
        sheet = book.create_sheet(title=table.sheet[:31])
        sheet.append([safe_cell(c.label) for c in table.columns])
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
    about = book.create_sheet(title=ABOUT_SHEET)
    about.append([safe_cell(labels["key"]), safe_cell(labels["label"]), safe_cell(labels["value"])])
    for setting in download.about:
        about.append([safe_cell(setting.key), safe_cell(setting.label), *(_cell(v) for v in setting.values)])
    columns = book.create_sheet(title=COLUMNS_SHEET)
    several = len(download.tables) > 1
    columns.append([safe_cell(labels["sheet"])] * several
                   + [safe_cell(labels["key"]), safe_cell(labels["label"]), safe_cell(labels["definition"])])
    for table in download.tables:
        for column in table.columns:
            columns.append([safe_cell(table.sheet)] * several
                           + [safe_cell(column.key), safe_cell(column.label), safe_cell(column.definition)])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX_MIMETYPE, headers=_disposition(download.filename() + ".xlsx"))


def download_response(fmt: str, download: Download) -> Response:
    if fmt == "xlsx":
        return xlsx_download(download)
    return csv_download(download)


# -- plain tables (one header row), for lists that are not reports -------------------------

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
