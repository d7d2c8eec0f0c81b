"""deploy/peerlane.service: systemd accepts it, it runs the installed ``peerlane serve``,
and its hardening options are on (the process writes only its data directory)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "peerlane.service"
INSTALLED = "/opt/peerlane/bin/peerlane"


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value given (systemd keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        assert section, f"a setting before any section: {line}"
        sections[section][key.strip()].append(value.strip())
    return sections


def test_the_unit_runs_peerlane_serve_with_its_data_dir() -> None:
    service = parse(UNIT.read_text())["Service"]
    assert service["ExecStart"] == [f"{INSTALLED} serve"]
    assert service["ExecStartPre"] == [f"{INSTALLED} db upgrade"]
    environment = dict(value.split("=", 1) for value in service["Environment"])
    data_dir = environment["PEERLANE_DATA_DIR"]
    assert service["ReadWritePaths"] == [data_dir]
    assert service["StateDirectory"] == [Path(data_dir).name]
    assert service["User"] != ["root"]


def test_the_hardening_options_are_on() -> None:
    service = parse(UNIT.read_text())["Service"]
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
    }
    for key, value in expected.items():
        assert service[key] == [value], key
    # The drain on SIGTERM (shutdown_timeout, 10 s by default) fits before SIGKILL.
    assert float(service["TimeoutStopSec"][0]) > 10


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_accepts_it(tmp_path: Path) -> None:
    # verify checks that the commands exist: point them at this checkout's peerlane.
    here = Path(sys.executable).parent / "peerlane"
    assert here.exists(), here
    unit = tmp_path / "peerlane.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(here)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
