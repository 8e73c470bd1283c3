"""``lms db backup`` and ``lms db restore``: a whole-database copy, taken while the LMS runs.

On SQLite the copy is made with SQLite's online backup API in one step: it reads one
snapshot (WAL mode lets writers go on meanwhile), so the file holds every transaction
committed before the backup began and nothing of those committed later or half-written.
It is written next to PATH and renamed into place, so PATH is never a partial file.

On PostgreSQL these commands run nothing: the operator's ``pg_dump -Fc`` and
``pg_restore`` (of the server's own version) are the tools, and the message says how
(README, "Backups").
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

VERSION_TABLE = "lms_alembic_version"


def _(text: str, **values) -> str:
    """The operator's commands speak English, as the rest of the CLI (nothing to translate)."""
    return text % values if values else text


class BackupError(Exception):
    """Why a backup or a restore was refused; nothing was changed."""


def sqlite_path(engine) -> Path:
    """The file of a SQLite engine (an in-memory database cannot be backed up)."""
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError(_("The configured SQLite database is in memory: there is no file to back up."))
    return Path(database)


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    return {rev.revision for rev in script.walk_revisions()}


def _config():
    from alembic.config import Config

    from .migrate import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def revision_of(path: Path) -> str:
    """The migration revision of the LMS database in ``path``; BackupError if it is not one."""
    if not path.is_file():
        raise BackupError(_("No such file: %(path)s.", path=path))
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(_("%(path)s cannot be opened: %(error)s.", path=path, error=exc)) from exc
    try:
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(_("%(path)s is damaged (SQLite's quick check fails).", path=path))
        found = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                   (VERSION_TABLE,)).fetchone()
        if found is None:
            raise BackupError(_("%(path)s is not an LMS database (it has no migration revision).", path=path))
        row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(_("%(path)s is not an SQLite database: %(error)s.", path=path, error=exc)) from exc
    finally:
        connection.close()
    if row is None or row[0] not in known_revisions():
        raise BackupError(_("%(path)s is at migration revision %(revision)s, which this version of the LMS "
                            "does not know.", path=path, revision=row[0] if row else None))
    return row[0]


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """The whole of ``source`` into a new file ``target``, in one step (one snapshot)."""
    destination = sqlite3.connect(target)
    try:
        source.backup(destination, pages=-1)
        # The copy is one self-contained file, not a database with a WAL beside it.
        destination.execute("PRAGMA journal_mode=DELETE")
    finally:
        destination.close()


def _replace(write, path: Path) -> None:
    """Run ``write(temporary)`` then rename the temporary file to ``path``."""
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def backup(engine, path: Path, force: bool = False) -> str:
    """Copy the configured SQLite database to ``path``; the copy's revision."""
    path = Path(path)
    if path.exists() and not force:
        raise BackupError(_("%(path)s exists; give --force to replace it.", path=path))
    if not path.parent.is_dir():
        raise BackupError(_("No such folder: %(path)s.", path=path.parent))
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        _replace(lambda temporary: _copy(source, temporary), path)
    finally:
        raw.close()
    return revision_of(path)


def is_empty(engine) -> bool:
    """Whether the database holds no row in any table (the migration revision aside)."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            if name == VERSION_TABLE:
                continue
            quoted = connection.dialect.identifier_preparer.quote(name)
            if connection.execute(text(f"SELECT 1 FROM {quoted} LIMIT 1")).first() is not None:
                return False
    return True


def restore(engine, path: Path, force: bool = False) -> str:
    """Replace the configured SQLite database by the backup in ``path``, then upgrade
    it to this version's newest revision; that revision."""
    from . import migrate

    path = Path(path)
    revision_of(path)
    target = sqlite_path(engine)
    if target.exists() and not force and not is_empty(engine):
        raise BackupError(_("The configured database %(path)s is not empty; give --force to replace it "
                            "(take a backup of it first).", path=target))
    if not target.parent.is_dir():
        raise BackupError(_("No such folder: %(path)s.", path=target.parent))
    engine.dispose()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target, timeout=30)
        try:
            # one transaction on the destination: it holds the whole backup or is unchanged
            source.backup(destination, pages=-1)
        finally:
            destination.close()
    except sqlite3.Error as exc:
        raise BackupError(_("%(path)s could not be restored: %(error)s. The database is unchanged.",
                            path=path, error=exc)) from exc
    finally:
        source.close()
    engine.dispose()
    migrate.upgrade(engine)
    migrate.check(engine)
    return migrate.current(engine)


def postgres_steps(engine) -> str:
    """How to back up and restore a PostgreSQL database (no password shown)."""
    url = engine.url
    where = " ".join(part for part in (
        f"--host={url.host}" if url.host else "", f"--port={url.port}" if url.port else "",
        f"--username={url.username}" if url.username else "") if part)
    database = url.database or "lms"
    return _(
        "On PostgreSQL this command runs nothing. Use PostgreSQL's own tools, of the server's version "
        "(see the README, \"Backups\"):\n"
        "  back up:  pg_dump -Fc %(where)s --file=lms.dump %(database)s\n"
        "  restore:  pg_restore --clean --if-exists --no-owner %(where)s --dbname=%(database)s lms.dump\n"
        "then run: flask --app wsgi lms db upgrade && flask --app wsgi lms db check",
        where=where, database=database)
