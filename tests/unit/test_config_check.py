"""``peerlane serve --check-config``: what each profile finds unsafe, and the exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from peerlane.config import Settings
from peerlane.config_check import Finding, check

SAFE_INTERNET: dict[str, Any] = {
    "profile": "internet",
    "public_url": "https://chat.example.org",
    "trusted_proxies": ["127.0.0.1"],
    "turn_urls": ["turn:turn.example.org:3478"],
    "turn_secret": "0123456789abcdef0123456789abcdef",
}


def findings(**settings: Any) -> dict[str, str]:
    """setting -> level of each finding (one per setting in these cases)."""
    found: list[Finding] = check(Settings(**settings))
    return {f.setting: f.level for f in found}


def test_the_defaults_are_a_safe_local_setup() -> None:
    assert findings() == {}


def test_local_listening_on_every_interface_is_a_warning() -> None:
    assert findings(host="0.0.0.0") == {"--host": "warning"}


def test_lan_needs_every_interface_and_tls_for_phones() -> None:
    assert findings(profile="lan") == {"--host": "error", "--self-signed": "warning"}
    assert findings(profile="lan", host="0.0.0.0") == {"--self-signed": "warning"}
    assert findings(profile="lan", host="0.0.0.0", self_signed=True) == {}


def test_a_complete_internet_setup_has_no_findings() -> None:
    assert findings(**SAFE_INTERNET) == {}
    direct = {**SAFE_INTERNET, "trusted_proxies": [], "tls_cert": "c.pem", "tls_key": "k.pem"}
    assert findings(**direct) == {}  # its own certificate: no proxy to trust


@pytest.mark.parametrize(
    ("change", "setting", "level"),
    [
        ({"public_url": None}, "--public-url", "error"),
        ({"public_url": "http://chat.example.org"}, "--public-url", "error"),
        ({"trusted_proxies": []}, "--trusted-proxies", "error"),
        ({"turn_urls": [], "turn_secret": None}, "--turn-urls", "warning"),
        ({"turn_secret": None}, "--turn-secret", "error"),
        ({"turn_secret": "short"}, "--turn-secret", "error"),
        ({"secret": "guessable"}, "--secret", "error"),
        ({"host": "0.0.0.0"}, "--host", "warning"),
        ({"share_quota_bytes": 100 * 1024**3}, "--share-quota-bytes", "warning"),
        (
            {"retention_max_age": None, "retention_max_messages": None},
            "--retention-max-age",
            "warning",
        ),
        ({"public_url": "https://x.example", "self_signed": True}, "--self-signed", "error"),
    ],
)
def test_each_unsafe_internet_setting_is_found(
    change: dict[str, Any], setting: str, level: str
) -> None:
    assert findings(**{**SAFE_INTERNET, **change}) == {setting: level}


def test_errors_come_first() -> None:
    found = check(Settings(profile="internet", host="0.0.0.0"))
    levels = [f.level for f in found]
    assert levels == sorted(levels, key=lambda level: level != "error")
    assert "error" in levels
    assert "warning" in levels


def run_check(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEERLANE_")}
    return subprocess.run(
        [sys.executable, "-m", "peerlane", "serve", "--check-config", *args],
        env={**clean, "PEERLANE_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_exits_non_zero_on_errors_and_starts_nothing(tmp_path: Path) -> None:
    bad = run_check(tmp_path, "--profile", "internet")
    assert bad.returncode == 1, bad.stderr
    assert "error: --public-url" in bad.stdout
    assert "profile internet: " in bad.stdout
    assert not (tmp_path / "data").exists()  # no server, no database made
    good = run_check(
        tmp_path,
        PEERLANE_PROFILE="lan",
        PEERLANE_HOST="0.0.0.0",
        PEERLANE_SELF_SIGNED="true",
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "profile lan: 0 errors, 0 warnings" in good.stdout
    warned = run_check(tmp_path, "--profile", "lan", "--host", "0.0.0.0")
    assert warned.returncode == 0
    assert "warning: --self-signed" in warned.stdout
