"""The terminal's memory of members' keys (peer/key_follow.py): per room in
``known-keys.json`` (mode 0600, replaced whole), a damaged file read as empty; what
``/people`` and the warnings say."""

from __future__ import annotations

import json
from pathlib import Path

from peerlane.core.member_keys import KnownKey
from peerlane.peer.key_follow import KeyChanged, KnownKeys, Person, warning


def test_known_keys_are_kept_per_room_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "peerlane" / "known-keys.json"
    one = KnownKeys("room1", path)
    one.put("alice", KnownKey("A"))
    KnownKeys("room2", path).put("alice", KnownKey("B", True))
    assert path.stat().st_mode & 0o777 == 0o600
    assert KnownKeys("room1", path).keys == {"alice": KnownKey("A")}
    assert KnownKeys("room2", path).keys == {"alice": KnownKey("B", True)}
    assert [p.name for p in path.parent.iterdir()] == ["known-keys.json"]  # no part left


def test_a_damaged_file_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "known-keys.json"
    path.write_text("{not json")
    assert KnownKeys("room1", path).keys == {}
    path.write_text(json.dumps({"room1": {"alice": {"key": 3}, "bob": {"key": "B"}}}))
    damaged = KnownKeys("room1", path)
    assert damaged.keys == {"bob": KnownKey("B")}
    damaged.put("carol", KnownKey("C"))
    assert set(json.loads(path.read_text())["room1"]) == {"bob", "carol"}


def test_a_changed_key_is_a_warning_shouted_for_a_verified_member() -> None:
    def change(changed: str) -> KeyChanged:
        known = KnownKey("N", False, changed)  # type: ignore[arg-type]
        return KeyChanged(Person("p1", "alice", "owner", True, "N", "12345 " * 5 + "12345", known))

    quiet, loud = change("changed"), change("verified-changed")
    assert (quiet.loud, loud.loud) == (False, True)
    assert warning(quiet).startswith("! The security key of alice changed")
    assert warning(loud).startswith("!!! WARNING: the security key of alice, whom you verified")
    assert warning("Could not fetch") == "! Could not fetch"
