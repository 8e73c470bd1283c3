"""Benchmark of the capacity metrics on the large demo data set.

For one year up to today, measures through the real app (Flask's test client, so the
figures are server time: routing, authentication, SQL, JSON or HTML):

  (a) GET /api/v1/metrics?from=...&to=...   (bearer token)
  (b) GET /reports/dashboard?from=...&to=... (a logged-in secretariat account)

against (c) the plainest hand-written SQL for the same numbers, one query per metric,
run through the same engine in the same process. It checks that (c) gives exactly the
API's numbers, prints median and p95 times and the ratio to (c), and writes the report
to bench/results/. The goal: under 200 ms and under 2x the plain SQL.

    python bench/metrics.py                       # a temporary SQLite file (generated: ~1 minute)
    python bench/metrics.py --database PATH       # keep (or reuse) that SQLite file
    python bench/metrics.py --postgres URL        # also PostgreSQL (an empty or generated database)
    python bench/metrics.py --quick               # a 1/20 data set, to try the script out
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LMS_ENV", "development")

import click  # noqa: E402
from sqlalchemy import bindparam, func, select, text  # noqa: E402

GOAL_MS, GOAL_RATIO = 200.0, 2.0
BENCH_EMAIL, BENCH_PASSWORD = "bench.secretariat@bench.example", "a bench password 87"
SEXES = ("female", "male", "other")

# -- (c) the plainest SQL: one query per metric ---------------------------------------------

SPLIT = ("COUNT(*), SUM(CASE WHEN sex = 'female' THEN 1 ELSE 0 END), "
         "SUM(CASE WHEN sex = 'male' THEN 1 ELSE 0 END), SUM(CASE WHEN sex = 'other' THEN 1 ELSE 0 END)")
ATTENDED = """SELECT r.organisation_id, r.person_key, r.sex, r.run_id FROM lms_attendances a
    JOIN lms_registrations r ON r.id = a.registration_id JOIN lms_run_sessions s ON s.id = a.session_id
    WHERE s.ends_at >= :lo AND s.ends_at < :hi"""
REACHED = f"""WITH reached AS (
    SELECT organisation_id FROM lms_completion_records WHERE completed_at >= :lo AND completed_at < :hi
    UNION SELECT organisation_id FROM ({ATTENDED}) x)
  SELECT o.kind, COUNT(*) FROM lms_organisations o JOIN reached ON reached.organisation_id = o.id"""
RANKED = """SELECT a.user_id, v.course_id, a.score, a.submitted_at, a.plan_fingerprint,
      ROW_NUMBER() OVER (PARTITION BY a.user_id, v.course_id{by_plan} ORDER BY {order}) AS rn
    FROM lms_quiz_attempts a JOIN lms_quizzes q ON q.id = a.quiz_id JOIN lms_course_versions v ON v.id = q.version_id
    WHERE q.role = '{role}' AND a.score IS NOT NULL AND a.submitted_at IS NOT NULL"""

PLAIN_SQL = {
    "courses.completions": f"""SELECT {SPLIT} FROM lms_completion_records
        WHERE item_type = 'course' AND completed_at >= :lo AND completed_at < :hi""",
    "workshops.participants_completed": f"""SELECT {SPLIT} FROM lms_completion_records
        WHERE item_type = 'workshop' AND completed_at >= :lo AND completed_at < :hi""",
    "courses.certificates_issued": f"""SELECT {SPLIT} FROM lms_completion_records
        WHERE certificate_code IS NOT NULL AND completed_at >= :lo AND completed_at < :hi""",
    "courses.enrolments": f"SELECT {SPLIT} FROM lms_enrolments WHERE started_at >= :lo AND started_at < :hi",
    "courses.knowledge_gain": f"""WITH final AS ({RANKED.format(role='final', order='a.score DESC, a.submitted_at, a.id',
                                                        by_plan=', a.plan_fingerprint')}),
        pre AS ({RANKED.format(role='pretest', order='a.submitted_at, a.number, a.id', by_plan='')})
        SELECT COUNT(*), AVG(pre.score), AVG(final.score),
               AVG(CASE WHEN pre.score < 100 THEN (final.score - pre.score) / (100.0 - pre.score) END)
        FROM final JOIN pre ON pre.user_id = final.user_id AND pre.course_id = final.course_id AND pre.rn = 1
          AND pre.plan_fingerprint = final.plan_fingerprint
        WHERE final.rn = 1 AND final.submitted_at >= :lo AND final.submitted_at < :hi""",
    "workshops.runs_held": """SELECT COUNT(DISTINCT run_id) FROM lms_run_sessions
        WHERE ends_at >= :lo AND ends_at < :hi AND attendance_taken_at IS NOT NULL""",
    "workshops.sessions_held": """SELECT COUNT(*) FROM lms_run_sessions
        WHERE ends_at >= :lo AND ends_at < :hi AND attendance_taken_at IS NOT NULL""",
    "workshops.participants_registered": f"""SELECT {SPLIT} FROM (
        SELECT person_key, run_id, MAX(sex) AS sex FROM lms_registrations
        WHERE status = 'confirmed' AND run_id IN (SELECT run_id FROM lms_run_sessions WHERE ends_at >= :lo AND ends_at < :hi)
        GROUP BY person_key, run_id) t""",
    "workshops.participants_attended": f"""SELECT {SPLIT} FROM (
        SELECT person_key, run_id, MAX(sex) AS sex FROM ({ATTENDED}) x GROUP BY person_key, run_id) t""",
    "organisations.reached": f"{REACHED} GROUP BY o.kind",
    "organisations.smes_reached_via_eos": f"""{REACHED} JOIN lms_organisations p ON p.id = o.parent_id
        WHERE o.kind = 'sme' AND p.kind = 'employers_organisation' GROUP BY o.kind""",
    "organisations.alliance_partners_engaged": f"{REACHED} WHERE o.is_alliance_partner GROUP BY o.kind",
    "data_quality.sex_recorded_share": """SELECT COUNT(*), SUM(CASE WHEN sex IS NOT NULL THEN 1 ELSE 0 END) FROM (
        SELECT person_key, MAX(sex) AS sex FROM (
          SELECT person_key, sex FROM lms_completion_records WHERE completed_at >= :lo AND completed_at < :hi
          UNION ALL SELECT person_key, sex FROM (""" + ATTENDED + """) x) u GROUP BY person_key) t""",
}


def _statements():
    from lms.db import UTCDateTime

    return {key: text(sql).bindparams(bindparam("lo", type_=UTCDateTime()), bindparam("hi", type_=UTCDateTime()))
            for key, sql in PLAIN_SQL.items()}


def _shape(key: str, rows: list) -> object:
    """A plain query's rows in the API's shape for that key."""
    if key.startswith("organisations."):
        by_kind = {kind: int(n) for kind, n in sorted(rows)}
        return {"total": sum(by_kind.values()), "by_kind": by_kind}
    row = rows[0]
    if key in ("workshops.runs_held", "workshops.sessions_held"):
        return int(row[0])
    if key == "courses.knowledge_gain":
        return {"n": int(row[0]), **{name: None if v is None else float(v)
                                     for name, v in zip(("mean_pre", "mean_post", "mean_normalised_gain"), row[1:])}}
    if key == "data_quality.sex_recorded_share":
        return int(row[1] or 0) / row[0] if row[0] else None
    total, *parts = (int(v or 0) for v in row)
    split = {"total": total, **dict(zip(SEXES, parts))}
    split["not_recorded"] = total - sum(parts)
    return split


def run_plain(engine, statements, lo, hi) -> tuple[dict, dict]:
    """Every plain query once: (results by key, seconds by key)."""
    results, seconds = {}, {}
    with engine.connect() as conn:
        for key, stmt in statements.items():
            started = time.perf_counter()
            rows = conn.execute(stmt, {"lo": lo, "hi": hi}).all()
            seconds[key] = time.perf_counter() - started
            results[key] = _shape(key, rows)
    return results, seconds


def _flatten(nested: dict) -> dict:
    return {f"{section}.{name}": value for section, values in nested.items() for name, value in values.items()}


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


# -- the data set ---------------------------------------------------------------------------

SIZES = {"organisations": 1000, "learners": 100_000, "records": 200_000, "runs": 5000, "registrations": 100_000}


def prepare(url: str, quick: bool, out):
    """An app on ``url`` with the schema, the content and the large demo data set (generated
    unless already there), and a secretariat account with an API token."""
    from lms import create_app, migrate
    from lms.accounts.models import User
    from lms.api import create_token
    from lms.content import import_all
    from lms.demo_large import LARGE_DOMAIN, analyze, generate

    app = create_app({"LMS_DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "LMS_MAIL_BACKEND": "console", "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                      "SERVER_NAME": None})
    state = app.extensions["lms"]
    migrate.upgrade(state.engine)
    with app.app_context(), state.sessionmaker() as session:
        if session.scalar(select(User.id).where(User.email.like(f"%@{LARGE_DOMAIN}")).limit(1)) is None:
            import_all(session, echo=lambda line: None)
            sizes = {k: max(1, v // 20) for k, v in SIZES.items()} if quick else SIZES
            started = time.perf_counter()
            generate(session, echo=out, **sizes,
                     progress=lambda label, total: click.progressbar(length=total, label=f"{label:<22}"))
            session.commit()
            out(f"Generated in {time.perf_counter() - started:.0f} s.")
        else:
            out("Reusing the data set already in the database.")
        analyze(session)  # as after a while in production (PostgreSQL: as autovacuum would)
        user = session.scalar(select(User).where(User.email == BENCH_EMAIL))
        if user is None:
            user = User(email=BENCH_EMAIL, name="Bench Secretariat", role="secretariat")
            user.set_password(BENCH_PASSWORD)
            session.add(user)
            session.flush()
        token = create_token(session, user)
        session.commit()
        from lms.records.models import CompletionRecord

        out(f"Data: {session.scalar(select(func.count()).select_from(User)):,} people, "
            f"{session.scalar(select(func.count()).select_from(CompletionRecord)):,} completion records.")
    return app, token


# -- measuring ------------------------------------------------------------------------------

def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


def bench(name: str, url: str, repeat: int, quick: bool, out) -> bool:
    """One backend; True when the plain SQL and the API agree."""
    from lms.metrics.definitions import Period

    out(f"\n== {name} ==")
    app, token = prepare(url, quick, out)
    today = datetime.now(timezone.utc).date()
    start = today - timedelta(days=365)
    lo, hi = Period(start, today).bounds()
    query = f"from={start.isoformat()}&to={today.isoformat()}"
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    engine = app.extensions["lms"].engine
    statements = _statements()

    def api():
        response = client.get(f"/api/v1/metrics?{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response.get_json()

    dashboard_ok = False
    login = client.post("/account/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
    probe = client.get(f"/reports/dashboard?{query}")
    if probe.status_code == 404:
        out("The dashboard page (/reports/dashboard) does not exist yet: skipped.")
    elif probe.status_code != 200:
        out(f"The dashboard page answered {probe.status_code} (login {login.status_code}): skipped.")
    else:
        dashboard_ok = True

    def dashboard():
        response = client.get(f"/reports/dashboard?{query}")
        assert response.status_code == 200, response.status_code

    # Warm up (caches, the first connection), then compare the numbers.
    figures = _flatten(api())
    plain, _ = run_plain(engine, statements, lo, hi)
    mismatches = [key for key in PLAIN_SQL if not _same(plain[key], figures.get(key))]
    for key in mismatches:
        out(f"!!! MISMATCH {key}: API {figures.get(key)!r} != plain SQL {plain[key]!r}")
    if not mismatches:
        out(f"The plain SQL gives exactly the API's numbers ({len(PLAIN_SQL)} metrics).")

    timings: dict[str, list[float]] = {"plain": [], "api": [], "dashboard": []}
    per_query: dict[str, list[float]] = {key: [] for key in PLAIN_SQL}
    with click.progressbar(range(repeat), label=f"{'Measuring':<22}") as bar:
        for _ in bar:
            started = time.perf_counter()
            _, seconds = run_plain(engine, statements, lo, hi)
            timings["plain"].append(time.perf_counter() - started)
            for key, s in seconds.items():
                per_query[key].append(s)
            started = time.perf_counter()
            api()
            timings["api"].append(time.perf_counter() - started)
            if dashboard_ok:
                started = time.perf_counter()
                dashboard()
                timings["dashboard"].append(time.perf_counter() - started)

    plain_median, _ = _stats(timings["plain"])
    out(f"\nPeriod {start} to {today}, {repeat} runs each; goal: under {GOAL_MS:.0f} ms and "
        f"under {GOAL_RATIO:.0f}x the plain SQL.")
    out(f"{'':44}{'median ms':>10}{'p95 ms':>10}{'x plain':>9}  goal")
    rows = [("(c) plain SQL, one query per metric", "plain"), ("(a) GET /api/v1/metrics", "api"),
            ("(b) GET /reports/dashboard", "dashboard")]
    for label, key in rows:
        if not timings[key]:
            out(f"{label:<44}{'skipped':>10}")
            continue
        median, p95 = _stats(timings[key])
        ratio = median / plain_median if plain_median else float("nan")
        goal = "" if key == "plain" else ("met" if median < GOAL_MS and ratio < GOAL_RATIO else "MISSED")
        out(f"{label:<44}{median:>10.1f}{p95:>10.1f}{ratio:>8.2f}x  {goal}")
    out("\nPlain SQL per metric (median ms):")
    for key, samples in sorted(per_query.items(), key=lambda item: -statistics.median(item[1])):
        out(f"  {key:<42}{statistics.median(samples) * 1000:>8.1f}")
    engine.dispose()
    return not mismatches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="SQLite file to use (generated if empty, kept afterwards)")
    parser.add_argument("--postgres", metavar="URL", help="also bench this PostgreSQL database (generated if empty)")
    parser.add_argument("--repeat", type=int, default=15, help="measurements of each (default 15)")
    parser.add_argument("--quick", action="store_true", help="a 1/20 data set, to try the script out")
    args = parser.parse_args()

    lines: list[str] = []

    def out(line: str = "") -> None:
        click.echo(line)
        lines.append(line)

    workdir = None
    if args.database:
        sqlite_path = Path(args.database).resolve()
    else:
        workdir = tempfile.mkdtemp(prefix="lms-bench-")
        sqlite_path = Path(workdir) / "bench.sqlite3"
    agree = True
    try:
        agree &= bench("SQLite", f"sqlite:///{sqlite_path}", args.repeat, args.quick, out)
        if args.postgres:
            agree &= bench("PostgreSQL", args.postgres, args.repeat, args.quick, out)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    report = results / f"metrics-{date.today().isoformat()}-{time.strftime('%H%M%S')}.txt"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    click.echo(f"\nReport written to {report.relative_to(ROOT)}")
    if not agree:
        click.echo("!!! The plain SQL and the API disagree (see MISMATCH above).", err=True)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
