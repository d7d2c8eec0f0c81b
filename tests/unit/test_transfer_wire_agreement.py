"""The browser's data-channel frames (web/transfer-wire.js, run in node) and the
terminal peer's (core/transfer_wire.py) are the same bytes and the same frames."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from peerlane.core import transfer_wire as tw

WIRE_JS = Path(__file__).parents[2] / "src" / "peerlane" / "web" / "transfer-wire.js"
H = "0f" * 32

SCRIPT = """
import * as w from %(module)s;
const input = JSON.parse(process.argv[1]);
const data = Buffer.from(w.encodeData(5, 131072, new Uint8Array([1, 2, 3]))).toString("hex");
const decoded = input.data.map((hex) => {
  const bytes = Buffer.from(hex, "hex");
  const frame = w.decodeData(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return frame && [frame.block, frame.offset, Buffer.from(frame.bytes).toString("hex")];
});
const controls = input.controls.map((text) => w.decodeControl(text));
const encoded = input.frames.map((f) => w.encodeControl(f));
const constants = {HEADER_BYTES: w.HEADER_BYTES, CHUNK_BYTES: w.CHUNK_BYTES,
  HIGH_WATER: w.HIGH_WATER, LOW_WATER: w.LOW_WATER, HASHES_PER_FRAME: w.HASHES_PER_FRAME,
  LABEL: w.labelOf("t1")};
console.log(JSON.stringify({data, decoded, controls, encoded, constants}));
"""

FRAMES = [
    {"t": "want", "from": 3, "hashes": True},
    {"t": "ok", "block": 9},
    {"t": "bad", "block": 0},
    {"t": "hashes", "from": 1, "hashes": H + H},
    {"t": "end"},
    {"t": "nofile"},
]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_python_and_javascript_frames_agree() -> None:
    controls = [tw.decode_control(json.dumps(f)) for f in FRAMES]
    python_encoded = [c.encode() for c in controls if c is not None]
    data = [tw.encode_data(7, 65536, b"\xff\x00").hex(), "00"]
    script = SCRIPT % {"module": json.dumps(WIRE_JS.as_uri())}
    argument = json.dumps({"data": data, "controls": python_encoded, "frames": FRAMES})
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, argument],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    js = json.loads(done.stdout)
    assert js["data"] == tw.encode_data(5, 131072, b"\1\2\3").hex()
    assert js["decoded"] == [[7, 65536, "ff00"], None]
    assert js["controls"] == FRAMES  # Python's frames, read by the browser's decoder
    assert [tw.decode_control(text) for text in js["encoded"]] == controls
    assert js["constants"] == {
        "HEADER_BYTES": tw.HEADER_BYTES,
        "CHUNK_BYTES": tw.CHUNK_BYTES,
        "HIGH_WATER": tw.HIGH_WATER,
        "LOW_WATER": tw.LOW_WATER,
        "HASHES_PER_FRAME": tw.HASHES_PER_FRAME,
        "LABEL": tw.label_of("t1"),
    }
