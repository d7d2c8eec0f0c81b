"""Sealed code words between the two implementations: core/code_words.py (the terminal
that makes a room) and the browser's web/e2e/code-words.js (run by node): the same key,
room, invite, words and nonce give the same ``sealed_code``, and each opens the other's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from peerlane.core import code_words, e2e

WEB = Path(__file__).resolve().parents[2] / "src" / "peerlane" / "web" / "e2e"


def test_python_and_the_browser_seal_and_open_code_words_alike() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    key = e2e.RoomKey(bytes(range(1, 33)))
    nonce = bytes(range(12))
    ours = code_words.seal_code_words(key, "room1", "inv1", "amber-falcon", nonce)
    script = f"""
import {{ openCodeWords, sealCodeWords }} from "{(WEB / "code-words.js").as_uri()}";
import {{ RoomKey }} from "{(WEB / "scheme.js").as_uri()}";
const key = await RoomKey.decode("{key.encoded()}");
const nonce = Uint8Array.from({list(nonce)});
const sealed = await sealCodeWords(key, "room1", "inv1", "amber-falcon", nonce);
const opened = await openCodeWords(key, "{ours}", "room1", "inv1");
const fresh = await sealCodeWords(key, "room1", "inv2", "bold-otter");
console.log(JSON.stringify({{ sealed, opened, fresh }}));
"""
    run = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    theirs = json.loads(run.stdout)
    assert theirs["sealed"] == ours
    assert theirs["opened"] == "amber-falcon"
    assert code_words.open_code_words(key, theirs["fresh"], "room1", "inv2") == "bold-otter"
