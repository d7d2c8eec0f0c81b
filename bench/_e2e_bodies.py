"""Chat bodies sealed as an end-to-end encrypted room's browser seals them (docs/protocol.md,
"End-to-end encryption"): for the benchmarks' encrypted variants. The sender seals each
body (AES-GCM under the room key's chat subkey, the room, sender and message id in the
AAD) before it leaves; every receiver opens it before it counts. The Python scheme
(peerlane.core.e2e) is the browser's, checked against it by tests/vectors/e2e.json."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from peerlane.core.e2e import RoomKey, is_envelope, open_chat_body, seal_chat_body


@dataclass(frozen=True)
class Sealer:
    """One room's key (its 32 bytes cross process boundaries: the generators are spawned)."""

    room_id: str
    secret: bytes

    @classmethod
    def new(cls, room_id: str) -> Sealer:
        return cls(room_id, os.urandom(32))

    def key(self) -> RoomKey:
        return RoomKey(self.secret)

    def seal(self, key: RoomKey, body: Any, *, sender: str, content_id: str) -> str:
        return seal_chat_body(
            key, os.urandom(12), body, room_id=self.room_id, sender=sender, content_id=content_id
        )

    def open(self, key: RoomKey, body: Any, *, sender: str, content_id: str) -> Any:
        if not is_envelope(body):
            return body  # not sealed: not one of the benchmark's messages
        return open_chat_body(key, body, room_id=self.room_id, sender=sender, content_id=content_id)
