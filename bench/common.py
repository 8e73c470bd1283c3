"""What every part of the benchmark shares: the gunicorn command line, a server that
starts and stops with it, a small HTTP client with cookies, database preparation and
the description of the machine."""
from __future__ import annotations

import http.cookiejar
import json
import os
import platform
import re
import resource
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"  # raw outputs, git-ignored
USER_AGENT = "lms-bench/1"

#: One gunicorn command line for the LMS and the reference app alike: two processes per
#: core, two threads each for the moments a request waits on the database. A page costs
#: the app milliseconds of Python, which holds the interpreter lock: with 8 threads in a
#: process per core, measured on 2 cores, the threads mostly queued for that lock, and
#: the lesson served fewer requests with a longer tail than with 4 processes of 2 threads.
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1))))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
GUNICORN_ARGS = ["--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS),
                 "--timeout", "120", "--backlog", "4096", "--keep-alive", "5"]


def gunicorn_command_line() -> str:
    return "gunicorn " + " ".join(GUNICORN_ARGS)


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lms_env(database_url: str, secret_key: str, instance: Path) -> dict:
    """The environment the LMS runs in: production settings, plain HTTP on loopback."""
    return {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret_key, "LMS_ENV": "production",
            "SESSION_COOKIE_SECURE": "0", "PREFERRED_URL_SCHEME": "http", "MAIL_BACKEND": "console", "LMS_INSTANCE_PATH": str(instance),
            "PYTHONPATH": str(ROOT)}


class Server:
    """``gunicorn APP`` on a free port with the shared command line, until the block ends."""

    def __init__(self, app_spec: str, env: dict, name: str, health: str = "/healthz"):
        self.app_spec, self.env, self.name, self.health = app_spec, env, name, health
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = RESULTS / f"gunicorn-{name}.log"

    def __enter__(self) -> "Server":
        RESULTS.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN_ARGS, "--bind", f"127.0.0.1:{self.port}", self.app_spec],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.base + self.health, timeout=2).read()
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn ({self.name}) did not start:\n" + self.log_path.read_text()[-3000:])

    def cpu_seconds(self, database: "Database | None" = None) -> float:
        """CPU used so far by gunicorn and its workers (and the database server, if any)."""
        pids = [self.proc.pid] + ([database.server_pid] if database is not None and database.server_pid else [])
        return process_tree_cpu(*pids)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Browser:
    """One person's cookies over plain HTTP; redirects are returned, not followed."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> Response:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body,
                                     headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            with self.opener.open(req, timeout=120) as r:
                return Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, dict(exc.headers), exc.read())

    def csrf(self, path: str) -> str:
        page = self.request(path).text
        found = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
        if found is None:
            raise RuntimeError(f"no form token on {path}")
        return found.group(1)

    def post_form(self, path: str, form_page: str, data: dict) -> Response:
        return self.request(path, {"csrf_token": self.csrf(form_page), **data})

    def login(self, email: str, password: str) -> "Browser":
        r = self.post_form("/account/login", "/account/login", {"email": email, "password": password})
        if r.status != 302:
            raise RuntimeError(f"login of {email} failed: HTTP {r.status}")
        return self

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def flask_cli(env: dict, *args: str) -> str:
    """``flask --app wsgi ARGS`` in the given environment; its output."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@dataclass
class Database:
    """One backend the LMS runs on during the run."""

    name: str  # "SQLite" or "PostgreSQL"
    url: str
    instance: Path
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    #: the database server's main process, whose CPU counts with the app's (none for SQLite)
    server_pid: int | None = None

    @property
    def env(self) -> dict:
        return lms_env(self.url, self.secret_key, self.instance)

    def app(self):
        """The LMS app itself, in this process, on the same database and key (to prepare data)."""
        old = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k not in ("PYTHONPATH",)})
        try:
            from lms import create_app

            return create_app()
        finally:
            os.environ.clear()
            os.environ.update(old)


def prepare_lms(database: Database) -> None:
    """Migrate, import the starter content and load the demo data, as ``make run`` does."""
    flask_cli(database.env, "lms", "init")
    flask_cli(database.env, "lms", "demo")


@contextmanager
def postgres_cluster():
    """The test suite's throwaway cluster (tests/support/postgres.py), for this run only."""
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import Cluster

    cluster = Cluster().start()
    try:
        pid_file = Path(cluster.data) / "postmaster.pid"
        cluster.server_pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        yield cluster
    finally:
        cluster.stop()


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _version(*cmd: str) -> str:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def postgres_version() -> str:
    from glob import glob

    found = sorted(glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True) or [shutil.which("postgres") or ""]
    return _version(found[0], "--version") if found[0] else "not installed"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    os_name = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', _read("/etc/os-release"), re.M)
    import gunicorn

    return {
        "CPU": cpu.group(1).strip() if cpu else platform.processor() or "unknown",
        "Cores": str(os.cpu_count()),
        "RAM": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "OS": f"{os_name.group(1) if os_name else platform.system()} (kernel {platform.release()})",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version(),
        "gunicorn": f"{gunicorn.__version__}: {gunicorn_command_line()}",
        "wrk": _version("wrk", "--version").split(" Copyright")[0],
    }


def write_json(name: str, data) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def cpu_busy_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    fields = _read("/proc/stat").split("\n", 1)[0].split()[1:]
    if not fields:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            pass
    return found


def process_tree_cpu(*roots: int) -> float:
    """CPU seconds (user + system) used so far by these processes and their children alive now."""
    total, todo, seen = 0.0, list(roots), set()
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        todo += _children(pid)
    return total


def _own_cpu() -> float:
    """CPU used by this process and by its children that have ended (wrk)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class OtherWork:
    """While the block runs: the CPU the measured server used (``server_cpu()``, seconds so
    far), and the share of all cores that other processes on the machine took, that is
    everything busy less the server, this process and its finished children (wrk). A
    share above a few percent means something else competed for the CPU."""

    def __init__(self, server_cpu=None):
        self.server_cpu = server_cpu or (lambda: 0.0)
        self.server_seconds = 0.0
        self.share = 0.0

    def __enter__(self) -> "OtherWork":
        self._start = (time.perf_counter(), cpu_busy_seconds(), _own_cpu(), self.server_cpu())
        return self

    def __exit__(self, *exc) -> None:
        started, busy, own, server = self._start
        self.server_seconds = self.server_cpu() - server
        other = (cpu_busy_seconds() - busy) - (_own_cpu() - own) - self.server_seconds
        elapsed = time.perf_counter() - started
        self.share = max(0.0, other / (elapsed * (os.cpu_count() or 1))) if elapsed > 0 else 0.0


def machine_busy_share(seconds: float = 2.0) -> float:
    """The share of all cores in use over the next ``seconds`` (before the run: other work)."""
    busy, started = cpu_busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (cpu_busy_seconds() - busy) / ((time.perf_counter() - started) * (os.cpu_count() or 1))
