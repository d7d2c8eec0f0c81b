"""Settings: environment, validation messages, and the generated docs table."""

from __future__ import annotations

from pathlib import Path

import pytest

from peerlane.config import Settings, load_settings, markdown_table
from peerlane.errors import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_doc_lists_every_option_as_generated() -> None:
    text = DOC.read_text()
    start = text.index("<!-- options:begin -->\n") + len("<!-- options:begin -->\n")
    end = text.index("<!-- options:end -->")
    assert text[start:end] == markdown_table()
    for name in Settings.model_fields:
        assert f"PEERLANE_{name.upper()}" in text


def test_environment_sets_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERLANE_PORT", "9123")
    monkeypatch.setenv("PEERLANE_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("PEERLANE_ICE_SERVERS", '[{"urls": ["stun:stun.example.org"]}]')
    s = load_settings()
    assert s.port == 9123
    assert s.allowed_origins == ["https://a.example", "https://b.example"]
    assert s.ice_servers == [{"urls": ["stun:stun.example.org"]}]


def test_cli_value_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERLANE_PORT", "9123")
    assert load_settings(port=9200).port == 9200


@pytest.mark.parametrize(
    ("env", "value", "needle"),
    [
        ("PEERLANE_PORT", "abc", "--port (PEERLANE_PORT)"),
        ("PEERLANE_MAX_PARTICIPANTS", "0", "--max-participants (PEERLANE_MAX_PARTICIPANTS)"),
        ("PEERLANE_ICE_SERVERS", '[{"urls"', "--ice-servers (PEERLANE_ICE_SERVERS)"),
        ("PEERLANE_ICE_SERVERS", '[{"url": "x"}]', "--ice-servers (PEERLANE_ICE_SERVERS)"),
        ("PEERLANE_LOG_FORMAT", "xml", "--log-format (PEERLANE_LOG_FORMAT)"),
        ("PEERLANE_MESH_CONNECT_TIMEOUT", "0.5", "greater than or equal to 1"),
        ("PEERLANE_MESH_CONNECT_TIMEOUT", "301", "less than or equal to 300"),
        ("PEERLANE_MESH_CONNECT_TIMEOUT", "soon", "--mesh-connect-timeout"),
    ],
)
def test_bad_values_name_the_option(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert needle in info.value.message


def test_tls_options_go_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls_cert and tls_key"):
        load_settings(tls_cert=tmp_path / "c.pem")
    with pytest.raises(ConfigError, match="exclude"):
        load_settings(self_signed=True, tls_cert=tmp_path / "c", tls_key=tmp_path / "k")


def test_default_database_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert s.db_url == f"sqlite+aiosqlite:///{tmp_path / 'peerlane.db'}"


def test_peerjs_path_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(peerjs_path="/signal/").peerjs_path == "/signal"
    assert load_settings(peerjs_path="").peerjs_path == ""
    monkeypatch.setenv("PEERLANE_PEERJS_KEYS", "app1, app2")
    assert load_settings().peerjs_keys == ["app1", "app2"]
    for bad in ({"peerjs_path": "signal"}, {"peerjs_path": "/a?b"}, {"peerjs_keys": []},
                {"peerjs_keys": ["a/b"]}, {"peerjs_keys": ["a\nb"]}):  # fmt: skip
        with pytest.raises(ConfigError, match="--peerjs-"):
            load_settings(**bad)


def test_an_ice_server_with_one_url_as_a_string_becomes_a_list() -> None:
    """As RTCIceServer takes it; the welcome's ICE servers are lists (a string broke them)."""
    s = load_settings(ice_servers='[{"urls": "stun:stun.example.org"}]')
    assert s.ice_servers == [{"urls": ["stun:stun.example.org"]}]


@pytest.mark.parametrize(
    "value", ['[{"urls": 5}]', '[{"urls": ["stun:x"], "username": 1}]', '[{"urls": [null]}]']
)
def test_a_malformed_ice_server_is_refused_in_plain_words(value: str) -> None:
    with pytest.raises(ConfigError, match="--ice-servers") as err:
        load_settings(ice_servers=value)
    assert "a URL or a list of URLs" in str(err.value)
