"""/metrics counts the bytes the server carries itself: tus bodies in, files out,
WebSocket frames out (the cost peer to peer saves)."""

from __future__ import annotations

import os

import httpx
from prometheus_client.parser import text_string_to_metric_families

from files.tusraw import Tus, file_id
from support import Peer, ServerProcess, create_room


def carried(http: httpx.Client) -> dict[str, float]:
    for family in text_string_to_metric_families(http.get("/metrics").text):
        if family.name == "peerlane_server_bytes":
            return {s.labels["kind"]: s.value for s in family.samples if s.name.endswith("_total")}
    return {}


def test_uploads_downloads_and_websocket_frames_are_counted(
    fserver: ServerProcess, fhttp: httpx.Client
) -> None:
    owner = create_room(fhttp)
    before = carried(fhttp)
    data = os.urandom(700_000)
    url = Tus.member(fhttp, owner).upload(data, chunk=300_000, room=owner.room_id, name="b.bin")
    download = f"/api/rooms/{owner.room_id}/files/{file_id(url)}"
    assert fhttp.get(download, headers=owner.auth).content == data
    ranged = fhttp.get(download, headers={**owner.auth, "Range": "bytes=0-999"})
    assert ranged.status_code == 206
    peer = Peer(fserver, owner)
    peer.chat("c1", "x" * 1000)
    peer.expect("message", id="c1")  # the room's copy comes after the ack: wait for it
    peer.close()
    after = carried(fhttp)
    assert after["upload"] - before.get("upload", 0) == len(data)
    assert after["download"] - before.get("download", 0) == len(data) + 1000
    assert after["websocket"] - before.get("websocket", 0) > 1000  # welcome, the echo
