"""The CLI's server choice (--server, then PEERLANE_SERVER, then the config file) and
``peerlane config set / get``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from peerlane.cli import app
from peerlane.peer import EXIT_USAGE, PeerError
from peerlane.peer import cli_config as cfg


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("PEERLANE_SERVER", raising=False)
    return tmp_path


def test_option_then_environment_then_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cfg.server_url(None) is None
    cfg.save("server", "https://file.example/")
    assert cfg.server_url(None) == "https://file.example"
    monkeypatch.setenv("PEERLANE_SERVER", "http://env.example:8000")
    assert cfg.server_url(None) == "http://env.example:8000"
    assert cfg.server_url("https://option.example") == "https://option.example"


def test_bad_values_are_usage_errors(config_home: Path) -> None:
    for bad in ("chat.example.org", "ftp://x", "https://"):
        with pytest.raises(PeerError) as refused:
            cfg.check_server(bad)
        assert refused.value.exit_code == EXIT_USAGE
    with pytest.raises(PeerError, match="the settings are: server, name"):
        cfg.save("colour", "blue")
    cfg.config_path().parent.mkdir(parents=True)
    cfg.config_path().write_text("{not json")
    with pytest.raises(PeerError, match="cannot be read"):
        cfg.load()
    cfg.config_path().write_text('["a list"]')
    assert cfg.load() == {}


def test_config_set_and_get_commands(config_home: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["config", "set", "server", "https://chat.example.org/"])
    assert done.exit_code == 0, done.output
    assert str(config_home / "peerlane" / "cli.json") in done.output
    assert runner.invoke(app, ["config", "set", "name", "Ann"]).exit_code == 0
    shown = runner.invoke(app, ["config", "get"])
    assert shown.output.splitlines() == ["server = https://chat.example.org", "name = Ann"]
    assert runner.invoke(app, ["config", "get", "name"]).output == "name = Ann\n"
    refused = runner.invoke(app, ["config", "set", "server", "nonsense"])
    assert refused.exit_code == EXIT_USAGE
    assert "is not a server address" in refused.output


def test_help_has_examples() -> None:
    runner = CliRunner()
    for command in ("chat", "doctor", "identity"):
        done = runner.invoke(app, [command, "--help"], terminal_width=120)
        assert done.exit_code == 0
        assert "Examples:" in done.output
        assert f"peerlane {command} " in done.output


def test_chat_send_and_receive_share_the_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PeerError, match="Which server") as no_server:
        cfg.server_or_fail(None)
    assert no_server.value.exit_code == EXIT_USAGE
    assert cfg.server_or_fail("https://option.example/") == "https://option.example"
    with pytest.raises(PeerError, match="neither an invite link nor a room code") as bad:
        cfg.invite_or_fail("not an invite")
    assert bad.value.exit_code == EXIT_USAGE
    assert cfg.invite_or_fail("7-amber-falcon").code == "7-amber-falcon"
    monkeypatch.setattr(cfg.getpass, "getuser", lambda: "login")
    assert cfg.display_name(None) == "login"
    cfg.save("name", "Ada")
    assert cfg.display_name(None) == "Ada"
    assert cfg.display_name("Bo") == "Bo"
