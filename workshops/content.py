"""Validates and imports workshop series folders (workshops/README.md defines the format).

Like the course importer: every folder is checked first and every problem is reported
with its file and line; with any problem nothing is written. A series whose files hash
to its stored ``content_hash`` is left alone; a changed one is updated in place (runs
keep pointing at it) and its session outlines are replaced.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from lms.content import (
    ContentError, ContentFile, Problem, YList, begin_import, content_folders, decode, display_path, files_hash,
    is_slug, read_files, report_problems, show, sort_problems,
)
from lms.db import utcnow

from .models import SERIES_AUDIENCES, SeriesSession, WorkshopSeries

__all__ = ["ContentError", "Problem", "SeriesData", "import_series", "validate_series_folder"]

SESSION_FILE_RE = re.compile(r"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.md$")
SERIES_REQUIRED = ("slug", "title", "summary", "language", "audience", "as_of", "sessions")
SERIES_KEYS = frozenset(SERIES_REQUIRED + ("linked_course",))
SESSION_KEYS = ("title", "duration_minutes")
NOTES = "facilitator-notes.md"


@dataclass
class SeriesData:
    """A series folder that passed every check, ready to be written."""

    slug: str
    content_hash: str
    fields: dict  # WorkshopSeries columns
    sessions: list[dict]  # SeriesSession columns, in order
    slug_line: int = 2


def validate_series_folder(path) -> tuple[SeriesData | None, list[Problem]]:
    """Check a series folder; the data only when there is no problem at all."""
    folder = Path(path)
    problems: list[Problem] = []
    series_md = ContentFile(folder, "series.md", problems)
    if not folder.is_dir():
        return None, [Problem(str(folder), None, "is not a folder")]
    files = read_files(folder)
    if "series.md" not in files:
        series_md.add(None, "series.md is missing: every series folder needs one")
        return None, problems
    for rel in files:
        parts = rel.split("/")
        if len(parts) == 1 and rel not in ("series.md", NOTES) or len(parts) > 1 and parts[0] != "sessions":
            ContentFile(folder, rel, problems).add(None, f"unexpected file: a series folder holds only series.md, "
                                                   f"{NOTES} and sessions/")
        elif parts[0] == "sessions" and (len(parts) != 2 or not SESSION_FILE_RE.fullmatch(parts[1])):
            ContentFile(folder, rel, problems).add(None, "unexpected file in sessions/: session files are named like "
                                                   "01-short-name.md")

    meta, objectives = series_md.parse_markdown(files["series.md"])
    fields: dict = {"objectives_md": objectives, "source": "content"}
    listed: list[str] = []
    meta_line = 2
    if meta is not None:
        meta_line = meta.line_of("slug")
        m = meta
        series_md.keys(m, SERIES_KEYS, SERIES_REQUIRED, missing_line=1)
        fields["slug"] = series_md.slug(m, folder, "due-diligence-for-smes")
        fields["title"] = series_md.text(m, "title", 300)
        fields["summary"] = series_md.text(m, "summary")
        fields["language"] = series_md.language(m)
        fields["audience"] = series_md.choice(m, "audience", SERIES_AUDIENCES)
        linked = m.get("linked_course")
        if linked is not None and not is_slug(linked):
            series_md.add(m.line_of("linked_course"), f"linked_course {show(linked)} must be a course slug, "
                                                      "for example due-diligence-essentials")
        fields["linked_course_slug"] = linked
        as_of = m.get("as_of")
        if as_of is not None and not (isinstance(as_of, date) and not isinstance(as_of, datetime)):
            series_md.add(m.line_of("as_of"), f"as_of {show(as_of)} must be a date written YYYY-MM-DD")
        sessions = m.get("sessions")
        if sessions is not None:
            if not isinstance(sessions, YList) or not sessions:
                series_md.add(m.line_of("sessions"), '"sessions" must be a list of files in sessions/, '
                                                     "one per line: - 01-first.md")
            else:
                for i, name in enumerate(sessions):
                    line = sessions.line_of(i)
                    if not isinstance(name, str) or f"sessions/{name}" not in files:
                        series_md.add(line, f"session file {show(name)} is not in sessions/")
                    elif name in listed:
                        series_md.add(line, f'session file "{name}" is listed twice')
                    else:
                        listed.append(name)
                present = sorted(rel[len("sessions/"):] for rel in files if rel.startswith("sessions/"))
                for name in present:
                    if name not in listed and name not in sessions:
                        series_md.add(m.line_of("sessions"), f'sessions/{name} is not listed in "sessions": '
                                                             "list it, or remove the file")
    if not objectives.strip():
        series_md.add(1, "the objectives (the text after the settings block) are missing")

    if NOTES in files:
        notes = ContentFile(folder, NOTES, problems)
        text, error = decode(files[NOTES])
        if error:
            notes.add(*error)
        elif not text.strip():
            notes.add(1, "the facilitator notes are empty: write them, or remove the file")
        elif text.startswith("---"):
            notes.add(1, "facilitator notes have no settings block: start with the text itself")
        else:
            fields["facilitator_notes_md"] = text.strip("\n")
    fields.setdefault("facilitator_notes_md", "")

    session_rows = []
    for position, name in enumerate(listed, 1):
        f = ContentFile(folder, f"sessions/{name}", problems)
        meta, outline = f.parse_markdown(files[f"sessions/{name}"])
        if meta is None:
            continue
        f.keys(meta, SESSION_KEYS, SESSION_KEYS, missing_line=1)
        title = f.text(meta, "title", 300)
        duration = f.integer(meta, "duration_minutes", 1)
        if not outline.strip():
            f.add(1, "the session outline (the text after the settings block) is missing")
        session_rows.append({"position": position, "title": title, "duration_minutes": duration,
                             "outline_md": outline})

    if problems:
        sort_problems(problems, series_md.path)
        return None, problems
    return SeriesData(slug=fields["slug"], content_hash=files_hash(files), fields=fields, sessions=session_rows,
                      slug_line=meta_line), []


# --- import ------------------------------------------------------------------


def _series_folders(root: Path, explicit: bool) -> list[Path]:
    return content_folders(root, "series.md", explicit)


def _write(session, data: SeriesData) -> str:
    series = session.scalar(select(WorkshopSeries).where(WorkshopSeries.slug == data.slug).with_for_update())
    if series is not None and series.content_hash == data.content_hash:
        return "unchanged"
    status = "updated"
    if series is None:
        series = WorkshopSeries(slug=data.slug)
        session.add(series)
        status = "created"
    for key, value in data.fields.items():
        setattr(series, key, value)
    series.content_hash = data.content_hash
    series.updated_at = utcnow()
    # Delete the old outlines before inserting the new: (series_id, position) is unique.
    series.sessions.clear()
    session.flush()
    series.sessions.extend(SeriesSession(**row) for row in data.sessions)
    session.flush()
    return status


def import_series(session, path=None, echo=print) -> list[tuple[str, str]]:
    """Import one series folder, or every series folder in a folder (default: the starter
    series). All are checked first: with any problem, every problem is echoed, nothing is
    written and ContentError is raised. Returns [(slug, status)], [] when ``path`` holds no
    series. Only flushes; the caller commits."""
    from . import CONTENT_DIR

    root = Path(path) if path is not None else CONTENT_DIR
    folders = _series_folders(root, explicit=path is not None)
    if not folders:
        echo(f"No workshop series folders in {root}.")
        return []
    checked = [validate_series_folder(folder) for folder in folders]
    problems = [p for _, folder_problems in checked for p in folder_problems]
    begin_import(session)
    if not problems:  # a series written in the web UI is not overwritten by files
        web = set(session.scalars(select(WorkshopSeries.slug).where(
            WorkshopSeries.slug.in_([d.slug for d, _ in checked]), WorkshopSeries.source != "content")))
        problems = [Problem(display_path(folder / "series.md", folder), data.slug_line,
                            f'a series "{data.slug}" was written in the web editor: give this one another slug')
                    for folder, (data, _) in zip(folders, checked) if data.slug in web]
    if problems:
        report_problems(problems, echo)
    results = []
    for i, (data, _) in enumerate(checked, 1):
        status = _write(session, data)
        results.append((data.slug, status))
        echo(f"[{i}/{len(checked)}] {data.slug}: {status}")
    return results
