"""A joiner's and a member's clients in joining by code with CPace (docs/protocol.md,
"Short codes by PAKE"), as the integration (tests/integration/test_pake_join.py) and
scale-out (tests/scaleout/test_pake_instances.py) tests drive them: both sides run the
real CPace of ``core/pake.py``; the code's words are the clients' own."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from websockets.sync.client import ClientConnection

from peerlane.core import pake
from peerlane.core.e2e import b64u_decode, b64u_encode
from support import TIMEOUT, Member, Peer, ServerProcess, close_code, open_socket

WORDS = "quiet-harbor-lantern"  # the creating client's words: the server never sees them
HANDOVER_AAD = b"peerlane handover test"


def pake_url(server: ServerProcess) -> str:
    return f"ws://127.0.0.1:{server.port}/api/join/ws"


def recv(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return message


def nameplate(member: Member) -> int:
    return int(member.body["invite"]["code"].split("-")[0])


def open_join(server: ServerProcess, member: Member, name: str = "bob") -> ClientConnection:
    ws = open_socket(pake_url(server))
    ws.send(json.dumps({"type": "pake.open", "nameplate": nameplate(member), "display_name": name}))
    return ws


@dataclass
class Answering:
    """A member's client answering one attempt."""

    attempt: str
    pake: pake.MemberPake


def member_reply(peer: Peer, words: str) -> Answering:
    """What a member's client does with a relayed share: answer it once."""
    share = peer.expect("pake.share")
    member = pake.MemberPake.start(
        words,
        invite_id=share["invite"],
        joiner_id=share["joiner"],
        member_id=peer.member.participant_id,
        sid=b64u_decode(share["attempt"]),
    )
    tag = member.respond(b64u_decode(share["share"]))
    peer.send(
        {
            "type": "pake.reply",
            "attempt": share["attempt"],
            "share": b64u_encode(member.share),
            "confirm": b64u_encode(tag),
        }
    )
    return Answering(share["attempt"], member)


def member_admit(peer: Peer, answering: Answering, room_key: bytes) -> str:
    """Check the joiner's confirmation; admit it with the room key sealed under the
    hand-over key, or reject it. Which it did."""
    confirm = peer.expect("pake.confirm", attempt=answering.attempt)
    try:
        keys = answering.pake.confirm(b64u_decode(confirm["confirm"]))
    except pake.PakeFailed:
        peer.send({"type": "pake.reject", "attempt": answering.attempt})
        return "pake.reject"
    nonce = os.urandom(12)
    sealed = AESGCM(keys.handover_key).encrypt(nonce, room_key, HANDOVER_AAD)
    handover = b64u_encode(nonce + sealed)
    peer.send({"type": "pake.admit", "attempt": answering.attempt, "handover": handover})
    return "pake.admit"


def recv_start(ws: ClientConnection) -> dict[str, Any]:
    """The attempt's ``pake.start``. A member's socket is listed just after its welcome
    (on Redis, a round trip later): an attempt opened in between gets ``pake.waiting``
    first, then starts when the member is listed."""
    start = recv(ws)
    if start["type"] == "pake.waiting":
        start = recv(ws)
    assert start["type"] == "pake.start", start
    return start


def join_as_joiner(
    ws: ClientConnection, words: str, start: dict[str, Any] | None = None
) -> tuple[pake.JoinerPake, dict[str, Any]]:
    """Send the joiner's share (after ``pake.start``: read here unless given)."""
    start = recv_start(ws) if start is None else start
    joiner = pake.JoinerPake.start(
        words,
        invite_id=start["invite"],
        joiner_id=start["joiner"],
        member_id=start["member"],
        sid=b64u_decode(start["attempt"]),
    )
    ws.send(
        json.dumps(
            {"type": "pake.share", "attempt": start["attempt"], "share": b64u_encode(joiner.share)}
        )
    )
    return joiner, start


def finish_joiner(ws: ClientConnection, joiner: pake.JoinerPake, attempt: str) -> bytes | None:
    """Check the member's confirmation; on success confirm and return the hand-over key."""
    reply = recv(ws)
    assert reply["type"] == "pake.reply", reply
    try:
        confirm, keys = joiner.finish(b64u_decode(reply["share"]), b64u_decode(reply["confirm"]))
    except pake.PakeFailed:
        ws.send(json.dumps({"type": "pake.abort", "attempt": attempt}))
        return None
    ws.send(
        json.dumps({"type": "pake.confirm", "attempt": attempt, "confirm": b64u_encode(confirm)})
    )
    return keys.handover_key


def wrong_attempt(server: ServerProcess, alice: Member, peer: Peer) -> None:
    """A joiner on ``server`` guesses wrong; ``peer`` (alice's socket, on any instance)
    answers with the right words."""
    ws = open_join(server, alice)
    joiner, start = join_as_joiner(ws, "wrong-guess-here")
    member_reply(peer, WORDS)
    assert finish_joiner(ws, joiner, start["attempt"]) is None
    peer.expect("pake.abort", attempt=start["attempt"])
    assert close_code(ws) == 1000
    peer.inbox.clear()
