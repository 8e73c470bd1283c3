"""``make bench``: every benchmark of the issue in one run, one table, bench/RESULTS.md.

For each backend (SQLite, then PostgreSQL on a throwaway cluster):

1. a fresh database: ``lms init`` (content) and ``lms demo`` (people), as ``make run`` does;
2. steady load: wrk, 16 connections, on the reference app and five logged-in pages,
   each under the same gunicorn command line; throughput as a ratio to the reference;
3. page weights (SQLite only: the pages are the same on both);
4. the exam-start burst: 3,000 learners start the same quiz within 10 seconds;
5. the CSV import of 10,000 members;

then CPU per request in-process (why the throughput is what it is), then
bench/metrics.py (the dashboard and the API on the large data set) when it is there.

    python -m bench.run [--quick] [--no-postgres] [--no-metrics]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import burst, cost, import_csv, load, reference_app, weights
from .common import (ROOT, RESULTS, Database, Server, gunicorn_command_line, log, machine, machine_busy_share,
                     postgres_cluster, prepare_lms, write_json)

RESULTS_MD = ROOT / "bench" / "RESULTS.md"

GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0
GOAL_BURST_P95_MS = 500.0


def yes(flag: bool) -> str:
    return "met" if flag else "NOT MET"


class Table:
    """Rows printed as aligned text and written as Markdown."""

    def __init__(self, title: str, headers: list[str], note: str = ""):
        self.title, self.headers, self.note, self.rows = title, headers, note, []

    def add(self, *cells) -> None:
        self.rows.append([str(c) for c in cells])

    def text(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.headers)]
        line = lambda cells: "  ".join(c.rjust(w) if _numeric(c) else c.ljust(w)  # noqa: E731
                                       for c, w in zip(cells, widths)).rstrip()
        out = [self.title, line(self.headers), line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |",
               "|" + "|".join("---:" if self.rows and _numeric(self.rows[0][i]) else "---"
                              for i in range(len(self.headers))) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.note:
            out += ["", self.note]
        return "\n".join(out)


def _numeric(cell: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,.]+\s*(x|ms|KB|MB|s|%)?", cell.strip()))


def run_backend(database: Database, reference_db: str, opts, report: dict) -> None:
    """Every measurement on one backend."""
    from lms.demo import DEMO_PASSWORD, DOMAIN

    name = database.name
    log(f"\n== {name} ==")
    started = time.perf_counter()
    prepare_lms(database)
    log(f"  database ready ({time.perf_counter() - started:.0f} s: lms init, lms demo)")
    learner, secretariat = f"cooperativea01.cgeci@{DOMAIN}", f"secretariat@{DOMAIN}"
    ref_env = {**os.environ, "BENCH_REFERENCE_DB": reference_db, "PYTHONPATH": str(ROOT)}
    with Server("bench.reference_app:app", ref_env, f"reference-{name.lower()}", health="/") as ref, \
            Server("wsgi:app", database.env, f"lms-{name.lower()}") as server:
        pages = load.prepare_pages(server.base, learner, secretariat, DEMO_PASSWORD)
        log(f"  steady load: wrk, {load.CONNECTIONS} connections, {opts.duration} s per page "
            f"(after {load.WARMUP_SECONDS} s of warm-up)")
        references, results = load.steady_load(server, ref, pages, database, opts.duration, opts.reference_duration)
        report["load"][name] = (references, results)
        load.save(f"load-{name.lower()}.json", [*references, *results])
        if name == "SQLite":
            log("  page weights")
            report["weights"] = weights.page_weights(pages)
        log("  exam-start burst")
        report["burst"][name] = burst.run_burst(database, server, load.COURSE, n=opts.learners,
                                                window=opts.window)
    if name == "SQLite":
        log("  CPU per request, in-process")
        costs = cost.page_costs(database, learner, secretariat, DEMO_PASSWORD,
                                {k: pages.paths[k] for k in load.LOAD_PAGES}, load.SECRETARIAT_PAGES)
        costs = {"reference (bare Flask)": cost.PageCost(cost.reference_cost(reference_db), 1), **costs}
        report["cost"] = costs
        for label, c in costs.items():
            log(f"  {label:<22} {c.cpu_ms:6.2f} ms CPU, {c.statements} SQL statements")
    log(f"  CSV import of {opts.rows:,} members")
    report["import"][name] = import_csv.run_import(database, opts.rows)


def run_metrics(postgres_url: str | None, opts) -> tuple[str, list[str]]:
    """bench/metrics.py (another benchmark: the dashboard and the API on the large data set)."""
    script = ROOT / "bench" / "metrics.py"
    if not script.exists():
        return "bench/metrics.py is not there: skipped.", []
    command = [sys.executable, str(script)] + (["--postgres", postgres_url] if postgres_url else [])
    command += ["--quick"] if opts.quick else []
    log(f"\n== bench/metrics.py{' --postgres ...' if postgres_url else ''} ==")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = []
    for line in proc.stdout:
        line = line.rstrip("\n")
        if "\r" in line or "[#" in line or "[-" in line:  # progress bars
            line = line.split("\r")[-1]
            if "%" in line and "[" in line:
                continue
        print(line, flush=True)
        lines.append(line)
    code = proc.wait()
    status = "exit status 0" if code == 0 else f"exit status {code}"
    return status, lines


def summarise_metrics(lines: list[str]) -> list[tuple[str, str]]:
    """(backend, row) for the figures bench/metrics.py prints as (a), (b), (c)."""
    rows, backend = [], ""
    for line in lines:
        found = re.match(r"^== (.+) ==$", line.strip())
        if found:
            backend = found.group(1)
        elif re.match(r"^\((a|b|c)\) ", line):
            rows.append((backend, re.sub(r"\s{2,}", "  ", line.strip())))
    return rows


def build_tables(report: dict, opts) -> tuple[list[Table], list[str]]:
    tables, missed = [], []

    load_table = Table(
        f"Steady load: wrk, {load.CONNECTIONS} connections, {opts.duration} s per page, logged in",
        ["backend", "page", "req/s", "x reference", "p50 ms", "p99 ms", "errors", "server CPU ms/req", "other work",
         "goal", "goal met"],
        note=f"Goal (lesson): at least {GOAL_RATIO}x the reference's throughput and p99 under {GOAL_P99_MS:.0f} ms. "
             f"The reference (a bare Flask app: one SQLite query, one template, the same gunicorn command line) "
             f"is measured for {opts.reference_duration} s just before each page; its row gives the mean and the "
             "range; 'x reference' divides each page's requests per second by the reference's measured just "
             "before it. Server CPU: gunicorn and its workers, plus the PostgreSQL server, per request. Other work: the "
             "share of the machine's CPU that processes outside the benchmark took meanwhile.")
    for backend, (references, results) in report["load"].items():
        rps = [r.rps for r in references]
        mean = sum(rps) / len(rps)
        load_table.add(backend, f"reference ({min(rps):,.0f}-{max(rps):,.0f})", f"{mean:,.0f}", "1.00x",
                       f"{sum(r.p50_ms for r in references) / len(rps):.1f}",
                       f"{sum(r.p99_ms for r in references) / len(rps):.1f}", sum(r.errors for r in references),
                       f"{sum(r.cpu_ms for r in references) / len(rps):.2f}",
                       f"{max(r.other_work for r in references):.0%}", "", "")
        for r in results:
            ratio = r.ratio
            goal, met = "", ""
            if r.label == "lesson":
                goal = f">= {GOAL_RATIO}x, p99 < {GOAL_P99_MS:.0f} ms"
                ok_ratio, ok_p99 = ratio >= GOAL_RATIO, r.p99_ms < GOAL_P99_MS
                met = yes(ok_ratio and ok_p99 and r.errors == 0)
                if not ok_ratio:
                    missed.append(("lesson throughput", f"lesson throughput on {backend}: {ratio:.2f}x the reference "
                                                        f"(goal {GOAL_RATIO}x)"))
                if not ok_p99:
                    missed.append(("lesson p99", f"lesson p99 on {backend}: {r.p99_ms:.0f} ms (goal < {GOAL_P99_MS:.0f} ms)"))
            elif r.errors:
                met = "errors"
            if r.errors:
                missed.append(("", f"{r.label} on {backend}: {r.errors} responses were not 200"))
            load_table.add(backend, r.label, f"{r.rps:,.0f}", f"{ratio:.2f}x", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}",
                           r.errors, f"{r.cpu_ms:.2f}", f"{r.other_work:.0%}", goal, met)
    tables.append(load_table)

    burst_table = Table(
        f"Exam-start burst: {opts.learners:,} distinct learners start the same quiz within {opts.window:.0f} s",
        ["backend", "starts", "sent over", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "starts/s",
         "x reference", "attempts in db", "server CPU ms/start", "other work", "goal met"],
        note=f"Goal: 0 errors, p95 under {GOAL_BURST_P95_MS:.0f} ms, exactly {opts.learners:,} attempts recorded "
             "(one per learner). starts/s: starts answered per second, from the first start sent to the last "
             "answer, as a ratio to the reference's mean requests per second in the same backend's run. Server "
             "CPU: gunicorn and its workers, plus the PostgreSQL server, per start.")
    for backend, b in report["burst"].items():
        references = report["load"][backend][0]
        reference_rps = sum(r.rps for r in references) / len(references)
        rate = b.learners / b.seconds_to_last_answer if b.seconds_to_last_answer else 0.0
        ok = b.errors == 0 and b.p95_ms < GOAL_BURST_P95_MS and b.attempts_recorded == b.learners \
            and b.learners_with_several == 0
        if b.errors:
            missed.append(("", f"burst on {backend}: {b.errors} errors ({', '.join(b.error_samples)})"))
        if b.p95_ms >= GOAL_BURST_P95_MS:
            missed.append(("burst p95", f"burst p95 on {backend}: {b.p95_ms:,.0f} ms (goal < {GOAL_BURST_P95_MS:.0f} ms)"))
        if b.attempts_recorded != b.learners or b.learners_with_several:
            missed.append(("", f"burst on {backend}: {b.attempts_recorded} attempts recorded for {b.learners} learners"))
        burst_table.add(backend, f"{b.learners:,}", f"{b.sent_over_seconds:.1f} s", b.errors, f"{b.p50_ms:,.0f}",
                        f"{b.p95_ms:,.0f}", f"{b.p99_ms:,.0f}", f"{b.max_ms:,.0f}", f"{rate:,.0f}",
                        f"{rate / reference_rps:.2f}x" if reference_rps else "-", f"{b.attempts_recorded:,}",
                        f"{b.cpu_ms_per_start:.2f}", f"{b.other_work:.0%}", yes(ok))
    tables.append(burst_table)

    if report.get("weights"):
        weight_table = Table(
            "Page weight of a first visit (HTML + stylesheet + images + scripts), SQLite",
            ["page", "HTML KB", "assets KB", "total KB", "total gzip KB", "files", "<script>", "goal", "goal met"],
            note="Goal: a lesson under 40 KB (raw, uncompressed) with no JavaScript needed. gzip: level 6, as a "
                 "reverse proxy would send it (the app itself does not compress). Stylesheet cache header: "
                 f"{report['weights'][0].css_cache_control}.")
        for w in report["weights"]:
            goal = met = ""
            if w.label == "lesson":
                goal = "< 40 KB, no script"
                ok = w.total < weights.LESSON_BUDGET and w.scripts == 0
                met = yes(ok)
                if not ok:
                    missed.append(("", f"lesson weight: {w.total / 1024:.1f} KB, {w.scripts} scripts (goal < 40 KB, none)"))
            weight_table.add(w.label, f"{w.html / 1024:.1f}", f"{w.assets / 1024:.1f}", f"{w.total / 1024:.1f}",
                             f"{w.total_gzip / 1024:.1f}", w.files, w.scripts, goal, met)
        tables.append(weight_table)

    import_table = Table(
        f"CSV import of {opts.rows:,} members (the organisation's import page, in-process)",
        ["backend", "rows", "seconds", "rows/s", "HTTP", "invitations", "emails queued", "peak RSS MB",
         "import's share MB", "goal"],
        note="The issue sets no goal for the import: time and peak memory are reported. Peak RSS: the process's "
             "resident memory high-water mark while the upload was handled (the mark is reset just before).")
    for backend, i in report["import"].items():
        import_table.add(backend, f"{i.rows:,}", f"{i.seconds:.1f}", f"{i.rows_per_second:,.0f}", i.status,
                         f"{i.invitations:,}", f"{i.emails_queued:,}", f"{i.rss_peak_mb:.0f}",
                         f"+{i.rss_peak_mb - i.rss_before_mb:.0f}", "none set")
        if i.status != 200 or i.invitations < i.rows:
            missed.append(("", f"CSV import on {backend}: HTTP {i.status}, {i.invitations} invitations for {i.rows} rows"))
    tables.append(import_table)

    if report.get("cost"):
        reference = report["cost"].get("reference (bare Flask)")
        reference_ms = reference.cpu_ms if reference else 0.0
        cost_table = Table(
            "CPU per request in-process (Flask test client, process CPU clock), SQLite",
            ["page", "CPU ms", "x reference's cost", "SQL statements"],
            note="What the app itself costs per request, without HTTP server or network; the throughput ratio "
                 "above follows from it (gunicorn adds the same fixed cost to every request). SQL statements: "
                 "what one request sends, BEGIN and COMMIT included (the reference: its one query).")
        for label, c in report["cost"].items():
            cost_table.add(label, f"{c.cpu_ms:.2f}", f"{c.cpu_ms / reference_ms:.1f}x" if reference_ms else "-",
                           c.statements if c.statements is not None else "-")
        tables.append(cost_table)

    if report.get("metrics_rows"):
        metrics_table = Table("bench/metrics.py: the capacity metrics on the large data set (its own figures)",
                              ["backend", "figure (median ms, p95 ms, x plain SQL, goal)"])
        for backend, row in report["metrics_rows"]:
            metrics_table.add(backend, row)
            if "MISSED" in row:
                missed.append(("metrics", f"bench/metrics.py on {backend}: {row}"))
        tables.append(metrics_table)
    return tables, missed


def why(key: str, report: dict) -> str:
    """Why a goal is missed on this machine, with this run's own figures."""
    cores = os.cpu_count() or 1
    costs = report.get("cost", {})
    ref_ms = costs["reference (bare Flask)"].cpu_ms if "reference (bare Flask)" in costs else None
    lesson_ms = costs["lesson"].cpu_ms if "lesson" in costs else None
    lesson_statements = costs["lesson"].statements if "lesson" in costs else None
    if key == "lesson throughput":
        lesson_cpu = {b: next((r.cpu_ms for r in results if r.label == "lesson"), 0.0)
                      for b, (_, results) in report["load"].items()}
        ref_cpu = {b: sum(r.cpu_ms for r in refs) / len(refs) for b, (refs, _) in report["load"].items()}
        per_backend = "; ".join(f"{b}: {lesson_cpu[b]:.2f} ms against {ref_cpu[b]:.2f} ms" for b in lesson_cpu)
        in_process = (f" In-process, without any HTTP server, the lesson costs the app {lesson_ms:.2f} ms of CPU "
                      f"and the reference {ref_ms:.2f} ms ({lesson_ms / ref_ms:.1f}x)." if ref_ms and lesson_ms else "")
        return ("Throughput here is CPU-bound: the server's CPU per request decides it. Server CPU per lesson "
                f"request against the reference's: {per_backend}.{in_process} The reference runs one indexed "
                "query through one small template; a lesson loads the signed-in person and their organisation, "
                "the course and its version, the enrolment, the course's lessons and the person's progress "
                f"({lesson_statements} SQL statements through the ORM, BEGIN included), then renders the layout with its menu, about 50 translated "
                "strings, a form token and the lesson's Markdown (cached). A profile of the lesson shows no "
                "single hotspot left: the ORM's queries, the templates with their translations and Flask's own "
                "work (session, login, form token) each take a share. 0.5x would need the whole lesson request "
                "to cost about twice what the reference's one query and one template cost.")
    if key == "lesson p99":
        return ("With 16 connections always busy, a request waits on average 16 / throughput (Little's law): a "
                "p99 under 50 ms needs well over 320 lesson requests a second with little spread, more than "
                f"{cores} cores give at the lesson's CPU cost per request (the table above), with wrk on the "
                "same cores.")
    if key == "burst p95":
        parts = []
        for backend, b in report["burst"].items():
            need = b.cpu_ms_per_start * b.learners / b.window_seconds / 1000
            parts.append(f"{backend}: {b.cpu_ms_per_start:.1f} ms of server CPU per start x "
                         f"{b.learners / b.window_seconds:.0f} starts a second = {need:.1f} cores")
        return ("The starts arrive at a steady rate, and each costs the server the CPU shown: "
                + "; ".join(parts) + f". This machine has {cores} cores, which the client playing the learners "
                "shares. When the starts ask for more CPU than there is, they queue and the wait grows for the "
                "whole window. On SQLite each start also writes under the database's single write lock (BEGIN "
                "IMMEDIATE, taken when the request's transaction starts, held until its commit), so the starts "
                "run one at a time.")
    if key == "metrics":
        return ("The capacity metrics for one year read about a third of the large data set (some 70,000 "
                "completion records, 90,000 attended sessions, 60,000 enrolments) on every request. Knowledge gain "
                "is read from pairs stored when an attempt is graded; the plain SQL's per-metric times "
                "(bench/results/metrics-*.txt) show what remains: the counts of distinct people and of distinct "
                "(person, run) pairs, which sort or hash the period's person keys each time (about 100,000 rows for "
                "the 60,000 people reached). Distinct counts do not add up across days, so they cannot be summed from daily "
                "totals kept at write time; with any period and five filters, under 200 ms would need a "
                "precomputed, invalidated cache of whole answers, which this version does not have.")
    return ""


WHY_KEYS = ("lesson throughput", "lesson p99", "burst p95", "metrics")


def notes(missed: list[tuple[str, str]], report: dict) -> list[str]:
    """Each goal missed, with the figure; then why, with this run's figures."""
    out = [f"- {text}" for _, text in missed]
    reasons = [why(key, report) for key in WHY_KEYS if any(k == key for k, _ in missed)]
    if reasons:
        out += ["", "Why:"] + [f"- {text}" for text in reasons]
    return out


NOISY = 0.10


def disturbed(report: dict) -> list[str]:
    """Measurements during which other processes took a noticeable share of the CPU."""
    found = []
    for backend, (references, results) in report["load"].items():
        worst = max(r.other_work for r in references)
        if worst > NOISY:
            found.append(f"the reference on {backend} (up to {worst:.0%})")
        found += [f"{r.label} on {backend} ({r.other_work:.0%})" for r in results if r.other_work > NOISY]
    for backend, b in report["burst"].items():
        if b.other_work > NOISY:
            found.append(f"the burst on {backend} ({b.other_work:.0%})")
    if not found:
        return []
    return [f"!!! Other processes on the machine took more than {NOISY:.0%} of the CPU during: "
            + ", ".join(found) + ". Those figures are lower than this machine gives when idle; "
            "run `make bench` again on an idle machine."]


def write_results(report: dict, tables: list[Table], missed: list[str], opts, elapsed: float) -> None:
    m = report["machine"]
    lines = ["# Benchmark results", "",
             f"Written by `make bench` (`python -m bench.run`) on {report['date']}; the whole run took "
             f"{elapsed / 60:.1f} minutes." + (" A quick run (`--quick`): shorter, smaller." if opts.quick else ""),
             "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in m.items()]
    lines += [f"- Other work on the machine when the run started: {report['busy_before'] * 100:.0f}% of the CPU",
              "- PostgreSQL: the test suite's throwaway cluster (tests/support/postgres.py: fsync and "
              "synchronous_commit off, 128 MB shared buffers); SQLite: WAL, synchronous=NORMAL, as the app "
              "configures it. Neither waits for the disk on each commit.",
              "- Load generators on the same machine as the server: wrk (2 threads) for the steady load, one "
              "Python asyncio process for the burst.", "", "## Figures", ""]
    for table in tables:
        lines += [table.markdown(), ""]
    lines += ["## Goals", ""] + [line + "\n" for line in disturbed(report)]
    lines += (["Every goal is met."] if not missed else ["Not met:", ""] + notes(missed, report))
    if report.get("metrics_status"):
        lines += ["", f"bench/metrics.py: {report['metrics_status']}."]
    RESULTS_MD.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 300 learners, 1,000 rows: a try-out")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-metrics", action="store_true", help="do not run bench/metrics.py")
    opts = parser.parse_args(argv)
    opts.duration = 3 if opts.quick else load.DURATION_SECONDS
    opts.reference_duration = 2 if opts.quick else load.REFERENCE_SECONDS
    opts.learners = 300 if opts.quick else burst.LEARNERS
    opts.window = 3.0 if opts.quick else burst.WINDOW_SECONDS
    opts.rows = 1000 if opts.quick else import_csv.ROWS

    if not load.wrk_available():
        log("wrk is not installed: `make bench` installs Debian's wrk (or: apt-get install wrk).")
        return 2
    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"load": {}, "burst": {}, "import": {}, "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
              "machine": machine(), "busy_before": machine_busy_share()}
    log("Machine: " + "; ".join(f"{k} {v}" for k, v in report["machine"].items()))
    if report["busy_before"] > 0.1:
        log(f"!!! Other work is using {report['busy_before'] * 100:.0f}% of the CPU: the figures will be low.")
    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    try:
        reference_db = str(workdir / "reference.sqlite3")
        reference_app.create_database(reference_db)
        sqlite_dir = workdir / "sqlite"
        sqlite_dir.mkdir()
        run_backend(Database("SQLite", f"sqlite:///{sqlite_dir / 'lms.sqlite3'}", sqlite_dir), reference_db,
                    opts, report)
        postgres_url = None
        if opts.no_postgres:
            log("\nPostgreSQL: skipped (--no-postgres).")
            cluster_context = None
        else:
            cluster_context = postgres_cluster()
        if cluster_context is not None:
            with cluster_context as cluster:
                pg_dir = workdir / "postgresql"
                pg_dir.mkdir()
                run_backend(Database("PostgreSQL", cluster.create_database("bench"), pg_dir,
                                     server_pid=cluster.server_pid), reference_db, opts, report)
                if not opts.no_metrics:
                    postgres_url = cluster.create_database("bench_metrics")
                    report["metrics_status"], lines = run_metrics(postgres_url, opts)
                    report["metrics_rows"] = summarise_metrics(lines)
        elif not opts.no_metrics:
            report["metrics_status"], lines = run_metrics(None, opts)
            report["metrics_rows"] = summarise_metrics(lines)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.perf_counter() - started
    tables, missed = build_tables(report, opts)
    print()
    print(f"Machine: {report['machine']['CPU']}, {report['machine']['Cores']} cores, {report['machine']['RAM']}; "
          f"{report['machine']['OS']}; Python {report['machine']['Python']}; SQLite {report['machine']['SQLite']}; "
          f"{report['machine']['PostgreSQL']}")
    print(f"Server: {gunicorn_command_line()}")
    for table in tables:
        print()
        print(table.text())
    print()
    for line in disturbed(report):
        print(line + "\n")
    if missed:
        print("Goals not met:")
        print("\n".join(notes(missed, report)))
    else:
        print("Every goal is met.")
    write_results(report, tables, missed, opts, elapsed)
    write_json("run.json", {k: v for k, v in report.items() if k not in ("load", "burst", "import", "weights")})
    print(f"\nWritten: {RESULTS_MD.relative_to(ROOT)} (raw outputs in {RESULTS.relative_to(ROOT)}/); "
          f"{elapsed / 60:.1f} minutes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
