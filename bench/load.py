"""Steady load: wrk (Debian's) with 16 connections on each logged-in page, and on the
reference app under the same gunicorn command line, in the same run."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .common import RESULTS, USER_AGENT, Browser, OtherWork, log

CONNECTIONS = 16
WRK_THREADS = 2
#: Each page: a short warm-up (every worker renders its templates and fills its
#: caches), then the measured run.
WARMUP_SECONDS = 2
DURATION_SECONDS = 10
#: The reference is measured again just before each page, so that each ratio compares
#: two runs a few seconds apart (other work on the machine drifts).
REFERENCE_SECONDS = 5

# Counts the responses that are not 200 (a 302 to the login page would otherwise pass
# as a success) and prints the summary as one JSON line.
WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_ok = 0 end
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("not_ok") end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "bytes": %d, "not_200": %d, "socket_errors": %d, ' ..
    '"timeouts": %d, "p50_us": %d, "p75_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, bad, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass
class LoadResult:
    label: str
    url: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    not_200: int
    socket_errors: int
    timeouts: int
    cpu_ms: float = 0.0  # CPU the server spent per request (gunicorn and its workers, the database server)
    reference_rps: float = 0.0  # the reference's throughput measured just before
    other_work: float = 0.0  # share of the machine's CPU other processes took meanwhile

    @property
    def ratio(self) -> float:
        return self.rps / self.reference_rps if self.reference_rps else 0.0

    @property
    def errors(self) -> int:
        return self.not_200 + self.socket_errors + self.timeouts


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, label: str, cookie: str = "", duration: int = DURATION_SECONDS,
            connections: int = CONNECTIONS) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    headers = ["-H", f"User-Agent: {USER_AGENT}"] + (["-H", f"Cookie: {cookie}"] if cookie else [])
    command = ["wrk", "-t", str(min(WRK_THREADS, connections)), "-c", str(connections), "-d", f"{duration}s",
               "--timeout", "10s", "-s", script.name, *headers, url]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    finally:
        Path(script.name).unlink(missing_ok=True)
    found = re.search(r"^WRK (\{.*\})$", done.stdout, re.M)
    if done.returncode or not found:
        raise RuntimeError(f"wrk failed on {url}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(found.group(1))
    seconds = raw["duration_us"] / 1e6
    return LoadResult(
        label=label, url=url, requests=raw["requests"], seconds=round(seconds, 2),
        rps=raw["requests"] / seconds, p50_ms=raw["p50_us"] / 1000, p75_ms=raw["p75_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000, max_ms=raw["max_us"] / 1000,
        not_200=raw["not_200"], socket_errors=raw["socket_errors"], timeouts=raw["timeouts"],
    )


def measure(base: str, path: str, label: str, cookie: str = "", duration: int = DURATION_SECONDS,
            cpu=None, warmup: bool = True) -> LoadResult:
    """wrk on one page; ``cpu()`` gives the CPU seconds the server has used so far."""
    url = base + path
    if warmup:
        run_wrk(url, label, cookie, duration=WARMUP_SECONDS)
    with OtherWork(cpu) as work:
        result = run_wrk(url, label, cookie, duration=duration)
    result.cpu_ms = work.server_seconds * 1000 / max(result.requests, 1)
    result.other_work = work.share
    log(f"  {label:<22} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms"
        f"  errors {result.errors}  server CPU {result.cpu_ms:.2f} ms/request  other work {work.share:.0%}")
    return result


@dataclass
class Pages:
    """The logged-in pages under load, found through the app's own pages and forms."""

    learner: Browser
    secretariat: Browser
    course_slug: str
    paths: dict  # label -> path

    def browser_for(self, label: str) -> Browser:
        return self.secretariat if label in SECRETARIAT_PAGES else self.learner


SECRETARIAT_PAGES = {"dashboard", "records table"}
COURSE = "due-diligence-essentials"


def prepare_pages(base: str, learner_email: str, secretariat_email: str, password: str) -> Pages:
    """Log in a learner and the secretariat; the learner enrols and starts the final quiz."""
    learner = Browser(base).login(learner_email, password)
    secretariat = Browser(base).login(secretariat_email, password)
    course = f"/courses/{COURSE}"
    if f'action="{course}/enrol"' in learner.request(course).text:  # the demo may have enrolled them
        r = learner.post_form(f"{course}/enrol", course, {})
        if r.status != 302:
            raise RuntimeError(f"enrolment failed: HTTP {r.status}")
    r = learner.post_form(f"{course}/quiz/final/start", f"{course}/quiz/final", {})
    attempt = urlpath(r.headers.get("Location", ""))
    if r.status != 302 or "/attempts/" not in attempt:
        raise RuntimeError(f"starting the quiz failed: HTTP {r.status} {attempt}")
    workshops = learner.request("/workshops/").text
    run = re.search(r'href="(/workshops/runs/\d+)"', workshops)
    if run is None:
        raise RuntimeError("no workshop run on /workshops/")
    paths = {
        "home": "/",
        "catalogue": "/courses/",
        "course page": course,
        "lesson": f"{course}/lessons/1",
        "quiz (attempt page)": attempt,
        "workshop list": "/workshops/",
        "workshop run page": run.group(1),
        "transcript": "/records/transcript",
        "dashboard": "/reports/dashboard",
        "records table": "/reports/organisations",
    }
    pages = Pages(learner, secretariat, COURSE, paths)
    for label, path in paths.items():
        r = pages.browser_for(label).request(path)
        if r.status != 200:
            raise RuntimeError(f"{label} ({path}) answers HTTP {r.status}, not 200")
    return pages


def urlpath(location: str) -> str:
    return re.sub(r"^https?://[^/]+", "", location)


#: The pages under steady load (the issue's list).
LOAD_PAGES = ["catalogue", "lesson", "quiz (attempt page)", "workshop run page", "dashboard"]


def steady_load(server, reference, pages: Pages, database=None, duration: int = DURATION_SECONDS,
                reference_duration: int = REFERENCE_SECONDS) -> tuple[list[LoadResult], list[LoadResult]]:
    """Each page, with the reference measured again just before it: (references, pages)."""
    references, results = [], []
    for i, label in enumerate(LOAD_PAGES):
        ref = measure(reference.base, "/", "reference (bare Flask)", duration=reference_duration,
                      cpu=reference.cpu_seconds, warmup=i == 0)
        references.append(ref)
        page = measure(server.base, pages.paths[label], label, pages.browser_for(label).cookie_header, duration,
                       cpu=lambda: server.cpu_seconds(database))
        page.reference_rps = ref.rps
        results.append(page)
    return references, results


def save(name: str, results: list[LoadResult]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps([r.__dict__ for r in results], indent=2))
