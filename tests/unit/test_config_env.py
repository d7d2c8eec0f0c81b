"""Settings is assembled from option groups (peerlane/config/*.py): every field must still be
read from the variable docs/configuration.md names, and every list field still parsed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import EnvSettingsSource

from peerlane.config import Settings, env_name, load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_field_is_read_from_its_documented_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    documented = re.findall(r"^\| `--[a-z0-9-]+` \| `(PEERLANE_\w+)` \|", DOC.read_text(), re.M)
    assert documented == [env_name(name) for name in Settings.model_fields]
    for number, variable in enumerate(documented):
        monkeypatch.setenv(variable, str(number))
    # What pydantic-settings itself reads for each field, before validation: a group's own
    # config, a prefix or an alias would show here as a missing or shifted field.
    read = EnvSettingsSource(Settings)()
    assert {name: str(value) for name, value in read.items()} == {
        name: str(number) for number, name in enumerate(Settings.model_fields)
    }


@pytest.mark.parametrize(
    ("field", "text", "parsed"),
    [
        ("allowed_origins", "https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ("trusted_proxies", "10.0.0.0/8, 192.0.2.1", ["10.0.0.0/8", "192.0.2.1"]),
        ("turn_urls", "turn:t.example, turns:t.example", ["turn:t.example", "turns:t.example"]),
        ("stun_urls", '["stun:s.example:3478"]', ["stun:s.example:3478"]),
        ("peerjs_keys", "one,two", ["one", "two"]),
    ],
)  # fmt: skip
def test_every_list_field_takes_commas_or_json(
    monkeypatch: pytest.MonkeyPatch, field: str, text: str, parsed: list[str]
) -> None:
    monkeypatch.setenv(env_name(field), text)
    assert getattr(load_settings(), field) == parsed
