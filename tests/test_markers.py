"""The markers of tests/conftest.py select what the quick loops promise.

Collected in a child pytest, as a developer would run it, over a browser module and a
module whose tests run on both backends.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
FILES = ["tests/e2e/test_join_flow.py", "tests/lms/test_smoke.py"]


def collected(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args, *FILES],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: everything deselected
    return sorted(line for line in result.stdout.splitlines() if "::" in line)


SMOKE = "tests/lms/test_smoke.py::test_home_and_login"


def test_marker_expressions_select_the_promised_tests():
    everything = collected()
    join_flows = [node for node in everything if node.startswith("tests/e2e/test_join_flow.py::")]
    on_sqlite, on_postgres = f"{SMOKE}[sqlite]", f"{SMOKE}[postgres]"
    assert len(join_flows) == 2 and everything == sorted(join_flows + [on_postgres, on_sqlite])

    assert collected("-m", "not e2e") == [on_postgres, on_sqlite]
    assert collected("-m", "e2e") == join_flows
    assert collected("-m", "not postgres") == sorted(join_flows + [on_sqlite])
    assert collected("-m", "postgres") == [on_postgres]
    assert collected("-m", "not e2e and not postgres") == [on_sqlite]
