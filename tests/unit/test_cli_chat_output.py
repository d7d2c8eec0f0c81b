"""What ``peerlane chat`` prints of other people's text: never a control sequence the
terminal would obey (clear screen, cursor moves, window title, bidi overrides)."""

from __future__ import annotations

import io
import json

from peerlane.cli_chat import _json_printer, _text_printer, printable
from peerlane.core import chat_client as cc
from peerlane.core import protocol as p

HOSTILE = "hi\x1b[2J\x1b]0;owned\x07 \x9b31m \u202egnp.exe\x00"


def shown(body: str, name: str = "mal\x1b[31lory") -> cc.Shown:
    message = p.Message(seq=1, id="m1", sender="x", sender_name=name, ts=0.0, body=body)
    return cc.Shown(message, own=False)


def is_safe(text: str) -> bool:
    return not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text) and (
        "\u202e" not in text
    )


def test_text_output_has_no_control_sequences() -> None:
    out = io.StringIO()
    _text_printer(out, send_only=False)(shown(HOSTILE))
    line = out.getvalue()
    assert is_safe(line), repr(line)
    assert "hi\ufffd[2J" in line
    assert "mal\ufffd[31lory:" in line
    assert printable("two\nlines") == "two\n    lines"
    assert printable("tab\there, ünïcödé ✓") == "tab\there, ünïcödé ✓"


def test_json_output_escapes_them() -> None:
    out = io.StringIO()
    _json_printer(out)(shown(HOSTILE))
    text = out.getvalue()
    assert text.isascii()
    assert json.loads(text)["body"] == HOSTILE  # the data intact for scripts
