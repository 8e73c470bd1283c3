"""Bulk CSV import of members: a manager uploads 10,000 rows on the organisation's
import page; time and peak memory.

It runs in a fresh Python process (so that the peak memory is the import's, not the
harness's), through the app's own route with Flask's test client: the upload, the
check of every row, one invitation, one outbox email and one audit entry per person,
the commit, and the report page listing every row.

    python -m bench.import_csv ROWS   (with DATABASE_URL, SECRET_KEY, ... set)

Peak memory is the process's resident set: its high-water mark is reset just before
the upload (Linux ``/proc/self/clear_refs``), so the figure is the import's peak.
"""
from __future__ import annotations

import io
import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

from .common import ROOT, USER_AGENT, Database, log

ROWS = 10_000


@dataclass
class ImportResult:
    backend: str
    rows: int
    seconds: float
    status: int
    invitations: int
    emails_queued: int
    rss_before_mb: float
    rss_peak_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def member_csv(rows: int) -> bytes:
    out = io.StringIO()
    out.write("email,name,role\n")
    for i in range(rows):
        out.write(f"member{i:05d}@import.example.org,Member {i:05d},{'manager' if i % 50 == 0 else 'member'}\n")
    return out.getvalue().encode()


def _status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            found = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M)
        return int(found.group(1)) / 1024 if found else None
    except OSError:
        return None


def _reset_peak() -> bool:
    """Start the resident-memory high-water mark again from now (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _main(rows: int) -> dict:
    """In the child process: log in the secretariat, upload the file, count what it wrote."""
    from sqlalchemy import func, select

    from lms import create_app
    from lms.demo import DEMO_PASSWORD, DOMAIN
    from lms.mail import OutboxMessage
    from lms.orgs.models import Invitation, Organisation

    app = create_app()
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT

    def token(path):
        return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', client.get(path).text).group(1)

    r = client.post("/account/login", data={"csrf_token": token("/account/login"),
                                            "email": f"secretariat@{DOMAIN}", "password": DEMO_PASSWORD})
    assert r.status_code == 302, f"login: HTTP {r.status_code}"
    sessionmaker = app.extensions["lms"].sessionmaker
    with sessionmaker() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.kind == "employers_organisation",
                                                        Organisation.status == "active").order_by(Organisation.id))
        before = s.scalar(select(func.count()).select_from(OutboxMessage))
    page = f"/organisations/{org_id}/import"
    form_token = token(page)
    data = member_csv(rows)

    _reset_peak()
    rss_before = _status_mb("VmRSS") or _peak_mb()
    started = time.perf_counter()
    r = client.post(page, data={"csrf_token": form_token, "file": (io.BytesIO(data), "members.csv")},
                    content_type="multipart/form-data")
    seconds = time.perf_counter() - started
    rss_peak = _peak_mb()
    with sessionmaker() as s:
        invitations = s.scalar(select(func.count()).select_from(Invitation).where(Invitation.organisation_id == org_id))
        emails = s.scalar(select(func.count()).select_from(OutboxMessage)) - before
    return {"rows": rows, "seconds": seconds, "status": r.status_code, "invitations": invitations,
            "emails_queued": emails, "rss_before_mb": rss_before, "rss_peak_mb": rss_peak}


def _child(database: Database, rows: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.import_csv", str(rows)],
        cwd=ROOT, env=database.env, capture_output=True, text=True, timeout=1800)
    found = re.search(r"^IMPORT (\{.*\})$", done.stdout, re.M)
    if done.returncode or not found:
        raise RuntimeError(f"the import benchmark failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(found.group(1))


def run_import(database: Database, rows: int = ROWS) -> ImportResult:
    """The import's wall time, and the process's peak resident memory while it ran
    (the high-water mark is reset just before the upload)."""
    raw = _child(database, rows)
    result = ImportResult(backend=database.name, rows=raw["rows"], seconds=round(raw["seconds"], 2),
                          status=raw["status"], invitations=raw["invitations"], emails_queued=raw["emails_queued"],
                          rss_before_mb=round(raw["rss_before_mb"], 1), rss_peak_mb=round(raw["rss_peak_mb"], 1))
    log(f"  {result.rows:,} rows in {result.seconds:.1f} s (HTTP {result.status}), {result.invitations:,} invitations,"
        f" peak RSS {result.rss_peak_mb:.0f} MB (+{result.rss_peak_mb - result.rss_before_mb:.0f} MB during the import)")
    return result


if __name__ == "__main__":
    os.environ.setdefault("LMS_ENV", "production")
    print("IMPORT " + json.dumps(_main(int(sys.argv[1]) if len(sys.argv) > 1 else ROWS)), flush=True)
