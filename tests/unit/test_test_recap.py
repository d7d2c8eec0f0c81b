"""scripts/test_recap.py, on the log of a real pytest run that fails: the end of a CI log
names each failed test, where it failed and its error (long messages keep both ends)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("test_recap", ROOT / "scripts" / "test_recap.py")
assert spec is not None
assert spec.loader is not None
recap_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(recap_module)

FAILING = """
def test_times_out():
    raise TimeoutError("not printed; the terminal shows:\\n" + "\\n".join(
        f"row {i}" for i in range(50)))

def test_wrong_sum():
    assert 1 + 1 == 3

def test_fine():
    pass
"""


def test_a_real_failing_run_is_summed_up(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(FAILING)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    log = tmp_path / "e2e.log"
    log.write_text(run.stdout)
    lines = recap_module.recap(log)
    text = "\n".join(lines)
    assert "--- test_times_out" in text
    assert "--- test_wrong_sum" in text
    assert "test_fine" not in text
    assert "test_sample.py:3: TimeoutError" in text
    assert "assert (1 + 1) == 3" in text
    # 51 message lines: the first (the error) and the latest (what was shown last) stay.
    assert "not printed; the terminal shows:" in text
    assert "row 49" in text
    assert "row 20" not in text
    assert "lines (in" in text


def test_a_log_without_pytest_failures_shows_its_end(tmp_path: Path) -> None:
    log = tmp_path / "lint.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)) + "\nFound 1 error.\n")
    lines = recap_module.recap(log)
    assert lines[-1] == "Found 1 error."
    assert "line 70" not in lines
    assert "line 80" in lines
