"""The browser's vocabulary (web/protocol.js) mirrors the server's (core/protocol.py,
errors.py). node imports the module and prints its exports as JSON, so the comparison is
against what the browser really loads, not a regex's reading of it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest

from peerlane.core import protocol as p
from peerlane.core import session
from peerlane.errors import ErrorCode

PROTOCOL_JS = Path(__file__).resolve().parents[2] / "src" / "peerlane" / "web" / "protocol.js"

SCRIPT = """
const m = await import(process.argv[1]);
const out = {};
for (const [name, value] of Object.entries(m)) if (typeof value !== "function") out[name] = value;
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, PROTOCOL_JS.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    exports: dict[str, Any] = json.loads(result.stdout)
    return exports


def literals(model: type[p.WireModel], field: str) -> set[str]:
    """The values of a ``Literal[...]`` field of a Pydantic model."""
    annotation = model.model_fields[field].annotation
    values = set(get_args(annotation))
    assert values, f"{model.__name__}.{field} is not a Literal"
    return values


def test_protocol_version(js: dict[str, Any]) -> None:
    assert js["PROTOCOL_VERSION"] == p.PROTOCOL_VERSION


def test_message_types(js: dict[str, Any]) -> None:
    assert set(js["CLIENT_TYPES"]) == set(p.CLIENT_TYPES)
    assert set(js["SERVER_TYPES"]) == set(p.SERVER_TYPES)
    assert len(js["CLIENT_TYPES"]) == len(set(js["CLIENT_TYPES"]))
    assert len(js["SERVER_TYPES"]) == len(set(js["SERVER_TYPES"]))


def test_error_codes(js: dict[str, Any]) -> None:
    assert set(js["ERROR_CODES"].values()) == {code.value for code in ErrorCode}
    assert js["ERROR_CODES"] == {code.name: code.value for code in ErrorCode}


def test_chat_error_classes_are_known_codes(js: dict[str, Any]) -> None:
    known = {code.value for code in ErrorCode}
    permanent, transient = set(js["PERMANENT_CHAT_ERRORS"]), set(js["TRANSIENT_CHAT_ERRORS"])
    assert permanent <= known
    assert transient <= known
    assert not permanent & transient
    assert {"body_too_large", "invalid_message", "message_too_large"} <= permanent
    assert {"rate_limited", "internal_error"} <= transient


def test_signal_kinds(js: dict[str, Any]) -> None:
    assert set(js["SIGNAL_KINDS"]) == literals(p.Signal, "kind")
    assert set(js["SIGNAL_KINDS"]) == literals(p.SignalRelay, "kind")


def test_chat_kinds(js: dict[str, Any]) -> None:
    assert set(js["CHAT_KINDS"]) == literals(p.Chat, "kind")
    assert set(js["CHAT_KINDS"]) == literals(p.Message, "kind")


def test_close_codes(js: dict[str, Any]) -> None:
    codes = js["CLOSE_CODES"]
    assert codes["GOING_AWAY"] == session.CLOSE_GOING_AWAY
    assert codes["POLICY"] == session.CLOSE_POLICY
    assert codes["UNAUTHORIZED"] == session.CLOSE_UNAUTHORIZED
    assert codes["ROOM_GONE"] == session.CLOSE_ROOM_GONE
    assert codes["VERSION"] == session.CLOSE_VERSION
    assert codes["REPLACED"] == session.CLOSE_REPLACED
    assert codes["TRY_AGAIN_LATER"] == 1013  # server/ws.py: a subscriber too slow to keep up


def test_peer_types_documented(js: dict[str, Any]) -> None:
    """The data-channel vocabulary is the one docs/web-client.md describes."""
    doc = (PROTOCOL_JS.parents[3] / "docs" / "web-client.md").read_text()
    section = doc.split("## Peer-to-peer data channel vocabulary", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| `")]
    documented = {row[1].strip().strip("`") for row in rows if row[2].strip() != "fields"}
    assert set(js["PEER_TYPES"]) == documented


def test_stored_question_limit(js: dict[str, Any]) -> None:
    assert js["MAX_STORED_IDS"] == p.MAX_STORED_IDS


def test_change_kinds(js: dict[str, Any]) -> None:
    assert set(js["CHANGE_KINDS"]) == set(p.CHANGE_KINDS)
    assert set(js["CHANGE_KINDS"]) <= set(js["CHAT_KINDS"])
    # Refused edits and deletes can never succeed on a retry.
    assert {"not_your_message", "message_not_found", "message_deleted"} <= set(
        js["PERMANENT_CHAT_ERRORS"]
    )
