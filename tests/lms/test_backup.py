"""``lms db backup`` / ``lms db restore``: a consistent copy taken while another thread writes."""
from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import delete, func, select

from lms import migrate
from lms.accounts.models import User
from lms.metrics.definitions import Filters, Period, compute
from lms.records.models import CompletionRecord
from tests.conftest import make_session
from tests.factories import make_org, make_record
from tests.support.app import make_test_app

ALL_TIME = Period(date(2020, 1, 1), date(2030, 12, 31))
LOAD = "load-"


def _invoke(app, *args):
    return app.test_cli_runner().invoke(args=["lms", "db", *args], catch_exceptions=False)


def _migrated_app(path):
    app = make_test_app(f"sqlite:///{path}")
    migrate.upgrade(app.extensions["lms"].engine)
    return app


@pytest.fixture
def source(tmp_path):
    app = _migrated_app(tmp_path / "source.sqlite3")
    yield app
    app.extensions["lms"].engine.dispose()


@pytest.fixture
def fresh(tmp_path):
    """An app on a database file that does not exist yet."""
    app = make_test_app(f"sqlite:///{tmp_path / 'restored.sqlite3'}")
    yield app
    app.extensions["lms"].engine.dispose()


def _write_one(app, org_id, n):
    """One transaction: a person and their completion record (both, or neither)."""
    with make_session(app) as s, s.begin():
        user = User(email=f"{LOAD}{n}@example.org", name=f"Load {n}", role="learner",
                    sex=("female", "male", None)[n % 3], country="GH", session_token=uuid.uuid4().hex)
        s.add(user)
        s.flush()
        s.add(CompletionRecord(
            user_id=user.id, person_key=user.person_key, sex=user.sex, country="GH", organisation_id=org_id,
            organisation_kind="employers_organisation", item_type="course", item_id=1, item_key="c1",
            item_title="c1", language="en", completed_at=datetime(2026, 1, 1 + n % 28, tzinfo=timezone.utc),
            certificate_code=f"L{n:08d}", issuer="Alliance 8.7"))


class Writer(threading.Thread):
    def __init__(self, app, org_id):
        super().__init__(daemon=True)
        self.app, self.org_id = app, org_id
        self.committed: list[int] = []
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            with self.app.app_context():
                n = 0
                while not self.stopping.is_set():
                    _write_one(self.app, self.org_id, n)
                    self.committed.append(n)
                    n += 1
        except Exception as exc:  # reported by the test
            self.error = exc


def _loaded(session) -> list[int]:
    emails = session.scalars(select(User.email).where(User.email.like(f"{LOAD}%"))).all()
    return sorted(int(e[len(LOAD):].split("@")[0]) for e in emails)


def _metrics(app):
    with app.app_context(), make_session(app) as s:
        return compute(s, ALL_TIME, Filters())


def test_backup_under_load_restores_a_consistent_snapshot(source, fresh, tmp_path):
    with make_session(source) as s:
        org = make_org(s, name="Ghana Employers' Association")
        for i in range(5):
            make_record(s, org, datetime(2026, 2, 1 + i, tzinfo=timezone.utc), sex="female")
        s.commit()
        org_id = org.id

    writer = Writer(source, org_id)
    writer.start()
    try:
        while len(writer.committed) < 30 and writer.is_alive():
            threading.Event().wait(0.01)
        before = len(writer.committed)
        result = _invoke(source, "backup", str(tmp_path / "copy.sqlite3"))
        after = len(writer.committed)
        while len(writer.committed) < after + 20 and writer.is_alive():
            threading.Event().wait(0.01)
    finally:
        writer.stopping.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output
    assert len(writer.committed) > after  # the writer went on during and after the backup

    restored = _invoke(fresh, "restore", str(tmp_path / "copy.sqlite3"))
    assert restored.exit_code == 0, restored.output
    check = _invoke(fresh, "check")
    assert check.exit_code == 0, check.output
    migrate.check(fresh.extensions["lms"].engine)

    with make_session(fresh) as s:
        seen = _loaded(s)
        k = len(seen)
        # every transaction committed before the backup began, none after it ended,
        # and the first k of them exactly: a snapshot, not a mixture
        assert before <= k <= after
        assert seen == list(range(k))
        # nothing half-written: each person has their record, each record its person
        records = s.scalar(select(func.count()).select_from(CompletionRecord)
                           .where(CompletionRecord.certificate_code.like("L%")))
        joined = s.scalar(select(func.count()).select_from(CompletionRecord)
                          .join(User, User.id == CompletionRecord.user_id).where(User.email.like(f"{LOAD}%")))
        assert records == joined == k

    # The source as it was at the backup: a copy of it now, less what was written after.
    reference_path = tmp_path / "reference.sqlite3"
    assert _invoke(source, "backup", str(reference_path)).exit_code == 0
    reference = make_test_app(f"sqlite:///{reference_path}")
    with make_session(reference) as s:
        later = select(User.id).where(User.email.in_([f"{LOAD}{n}@example.org" for n in writer.committed[k:]]))
        s.execute(delete(CompletionRecord).where(CompletionRecord.user_id.in_(later)))
        s.execute(delete(User).where(User.id.in_(later)))
        s.commit()
        assert _loaded(s) == list(range(k))
    expected = _metrics(reference)
    reference.extensions["lms"].engine.dispose()
    assert expected["records.certificates_issued"]["total"] == k + 5
    assert _metrics(fresh) == expected


def test_backup_refuses_to_replace_a_file(source, tmp_path):
    path = tmp_path / "copy.sqlite3"
    path.write_text("keep me")
    refused = _invoke(source, "backup", str(path))
    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert path.read_text() == "keep me"
    forced = _invoke(source, "backup", str(path), "--force")
    assert forced.exit_code == 0, forced.output
    assert migrate.current(make_test_app(f"sqlite:///{path}").extensions["lms"].engine) == \
        migrate.current(source.extensions["lms"].engine)


def test_restore_refuses_a_database_that_holds_data(source, tmp_path):
    with make_session(source) as s:
        make_org(s, name="Already here")
        s.commit()
    backup_path = tmp_path / "copy.sqlite3"
    assert _invoke(source, "backup", str(backup_path)).exit_code == 0

    other = _migrated_app(tmp_path / "other.sqlite3")
    with make_session(other) as s:
        make_org(s, name="Would be lost")
        s.commit()
    refused = _invoke(other, "restore", str(backup_path))
    assert refused.exit_code == 1
    assert "not empty" in refused.output
    with make_session(other) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0
        from lms.orgs.models import Organisation

        assert s.scalars(select(Organisation.name)).all() == ["Would be lost"]

    forced = _invoke(other, "restore", str(backup_path), "--force")
    assert forced.exit_code == 0, forced.output
    with make_session(other) as s:
        assert s.scalars(select(Organisation.name)).all() == ["Already here"]
    other.extensions["lms"].engine.dispose()


def test_restore_refuses_what_is_not_an_lms_database(fresh, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database at all" * 100)
    plain = tmp_path / "plain.sqlite3"
    with sqlite3.connect(plain) as connection:
        connection.execute("CREATE TABLE t (x)")
    unknown = tmp_path / "future.sqlite3"
    with sqlite3.connect(unknown) as connection:
        connection.execute("CREATE TABLE lms_alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO lms_alembic_version VALUES ('9999_from_the_future')")
    for path, words in ((tmp_path / "missing.sqlite3", "No such file"), (text_file, "not an SQLite database"),
                        (plain, "not an LMS database"), (unknown, "does not know")):
        result = _invoke(fresh, "restore", str(path))
        assert result.exit_code == 1, (path, result.output)
        assert words in result.output, result.output


def test_postgres_explains_pg_dump_and_runs_nothing(pg_cluster, tmp_path):
    app = make_test_app(pg_cluster.create_database(f"lms_backup_{uuid.uuid4().hex[:12]}"))
    try:
        for command in ("backup", "restore"):
            result = app.test_cli_runner().invoke(args=["lms", "db", command, str(tmp_path / "x.dump")])
            assert result.exit_code == 1
            assert "pg_dump -Fc" in result.output and "pg_restore" in result.output
            assert "password" not in result.output.lower()
        assert not (tmp_path / "x.dump").exists()
    finally:
        app.extensions["lms"].engine.dispose()
