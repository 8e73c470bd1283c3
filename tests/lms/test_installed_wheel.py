"""The LMS as a host installs it: a wheel (not an editable checkout) in a fresh virtual
environment, used from a folder outside the source tree.

The wheel is built from this checkout; the new environment sees the test environment's
libraries (Flask, SQLAlchemy, pytest, ...) through a path entry but not this checkout,
so ``import lms`` can only find the installed copy. The standalone app is created,
migrated and served its pages there, and the embedding tests run against it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
                   check=True, cwd=base)
    wheel = next(dist.glob("alliance87_lms-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The libraries the LMS needs, from this environment, without this checkout (whose
    # editable install is a .pth file there, which a plain path entry does not run).
    Path(site, "test-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = base / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LMS_", "DATABASE_URL"))}
    env.update(LMS_ENV="development", LMS_INSTANCE_PATH=str(work / "instance"))
    return python, Path(site), work, env


def run(wheel_env, *args, **kwargs):
    python, _site, work, env = wheel_env
    return subprocess.run([str(python), *args], cwd=work, env=env, capture_output=True, text=True, **kwargs)


def test_the_installed_package_is_the_one_imported(wheel_env):
    _python, site, _work, _env = wheel_env
    found = run(wheel_env, "-c", "import lms, courses, workshops; print(lms.__file__); print(courses.__file__)")
    assert found.returncode == 0, found.stderr
    for line in found.stdout.split():
        assert Path(line).is_relative_to(site) and not Path(line).is_relative_to(ROOT)
    # Nothing named like a host's own modules is installed at the top level.
    assert not (site / "config.py").exists() and not (site / "migrations").exists()


def test_the_standalone_app_migrates_imports_and_serves_from_the_wheel(wheel_env):
    _python, _site, work, _env = wheel_env
    script = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from lms import create_app

        app = create_app()
        runner = app.test_cli_runner()
        init = runner.invoke(args=["lms", "init"])
        assert init.exit_code == 0, init.output
        # The list of common passwords is package data of the wheel.
        weak = runner.invoke(args=["lms", "user", "create", "ama@example.org", "--name", "Ama",
                                   "--password", "password123"])
        assert weak.exit_code == 2 and "most common" in weak.output, weak.output
        client = app.test_client()
        for path in ("/", "/courses/", "/workshops/", "/account/login", "/static/lms.css"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        assert "Due diligence essentials" in client.get("/courses/").get_data(as_text=True)
        print(app.config["LMS_DATABASE_URL"])
    """)
    result = run(wheel_env, "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(work / "instance") in result.stdout  # the instance folder is where it runs, not site-packages


def test_the_embedding_tests_pass_against_the_wheel(wheel_env):
    """tests/lms/test_embedding.py, copied outside the source tree with the test support
    it imports, run by the new environment's Python."""
    _python, _site, work, _env = wheel_env
    tests = work / "tests"
    if not tests.exists():
        shutil.copytree(ROOT / "tests", tests, ignore=shutil.ignore_patterns("__pycache__", "e2e"))
    result = run(wheel_env, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:flask",
                 "tests/lms/test_embedding.py", timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
