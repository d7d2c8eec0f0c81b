"""``peerlane identity``: the terminal's X25519 identity key, made once in the config
directory with mode 0600, and the safety code with another member's public key (the
same digits as the other side computes, core.e2e.safety_code)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from peerlane.cli import app
from peerlane.core import e2e

runner = CliRunner()
OTHER = e2e.x25519_private(bytes(range(1, 33)))
OTHER_PUBLIC = e2e.b64u_encode(e2e.x25519_public_bytes(OTHER))


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path / "peerlane"


def identity(*args: str) -> dict[str, str]:
    done = runner.invoke(app, ["identity", "--json", *args])
    assert done.exit_code == 0, done.output
    record: dict[str, str] = json.loads(done.stdout)
    return record


def test_the_key_is_made_once_readable_by_its_owner_only(config_dir: Path) -> None:
    first = identity()
    path = config_dir / "identity.json"
    assert first["path"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert identity()["public_key"] == first["public_key"]  # kept, not made again
    secret = e2e.b64u_decode(json.loads(path.read_text())["x25519_private"])
    mine = e2e.x25519_public_bytes(e2e.x25519_private(secret))
    assert e2e.b64u_encode(mine) == first["public_key"]


def test_the_safety_code_is_the_one_the_other_member_computes(config_dir: Path) -> None:
    record = identity("--with", OTHER_PUBLIC)
    mine = e2e.b64u_decode(record["public_key"])
    theirs = e2e.x25519_public_bytes(OTHER)
    assert record["safety_code"] == e2e.safety_code(theirs, mine)
    text = runner.invoke(app, ["identity", "--with", OTHER_PUBLIC])
    assert f"safety code: {record['safety_code']}" in text.stdout
    bad = runner.invoke(app, ["identity", "--with", "not-a-key"])
    assert bad.exit_code == 2
    assert "is not a public key" in bad.output


def test_a_key_others_can_read_or_a_damaged_one_is_refused(config_dir: Path) -> None:
    identity()
    path = config_dir / "identity.json"
    path.chmod(0o644)
    shared = runner.invoke(app, ["identity"])
    assert shared.exit_code == 1
    assert "chmod 600" in shared.output
    path.chmod(0o600)
    path.write_text("{}")
    damaged = runner.invoke(app, ["identity"])
    assert damaged.exit_code == 1
    assert "is damaged" in damaged.output
