"""CPace between the two implementations: core/pake.py (Python) on one side and the
browser's web/e2e/pake.js (run by node, tests/web/pake_peer.mjs) on the other, in both
roles. Right words: the same ISK and hand-over key on both sides; wrong words: the
confirmation fails on both sides."""

from __future__ import annotations

import json
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pake_channel import channel, js_channel
from peerlane.core.pake import CONFIRM_BYTES, JoinerPake, MemberPake, PakeFailed

PEER = Path(__file__).resolve().parent / "pake_peer.mjs"


class NodePeer:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + 60  # node starts slowly on the shared machine
        while not select.select([self.proc.stdout], [], [], 0.5)[0]:
            assert self.proc.poll() is None, "the node peer exited"
            assert time.monotonic() < deadline, "the node peer did not answer"
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer


@pytest.fixture
def node_peer() -> Iterator[NodePeer]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    with subprocess.Popen(
        [node, str(PEER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        yield NodePeer(proc)
        assert proc.stdin is not None
        proc.stdin.close()  # the peer's input ends: it exits
        assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize(("member_words", "same"), [("Amber  Falcon", True), ("amber-fox", False)])
def test_python_joiner_js_member(node_peer: NodePeer, member_words: str, same: bool) -> None:
    ids = channel()
    joiner = JoinerPake.start("amber-falcon", **ids)
    node_peer.ask({"start": {"role": "member", "words": member_words, "channel": js_channel(ids)}})
    reply = node_peer.ask({"share": joiner.share.hex()})
    if same:
        member_share, member_confirm = (
            bytes.fromhex(reply["share"]),
            bytes.fromhex(reply["confirm"]),
        )
        confirm, keys = joiner.finish(member_share, member_confirm)
        member = node_peer.ask({"confirm": confirm.hex()})
        assert member == {"isk": keys.isk.hex(), "handover": keys.handover_key.hex()}
    else:
        with pytest.raises(PakeFailed, match="does not match"):
            joiner.finish(bytes.fromhex(reply["share"]), bytes.fromhex(reply["confirm"]))
        # Whatever a joiner sends after a wrong code, the member does not admit it.
        member = node_peer.ask({"confirm": bytes(CONFIRM_BYTES).hex()})
        assert member == {"failed": "the code does not match"}


@pytest.mark.parametrize(
    ("joiner_words", "same"), [("amber falcon", True), ("amber-falcon-x", False)]
)
def test_js_joiner_python_member(node_peer: NodePeer, joiner_words: str, same: bool) -> None:
    ids = channel()
    member = MemberPake.start("Amber-Falcon", **ids)
    start = {"role": "joiner", "words": joiner_words, "channel": js_channel(ids)}
    joiner_share = bytes.fromhex(node_peer.ask({"start": start})["share"])
    member_confirm = member.respond(joiner_share)
    answer = node_peer.ask({"share": member.share.hex(), "confirm": member_confirm.hex()})
    if same:
        keys = member.confirm(bytes.fromhex(answer["confirm"]))
        assert answer["isk"] == keys.isk.hex()
        assert answer["handover"] == keys.handover_key.hex()
    else:
        assert answer == {"failed": "the code does not match"}
        with pytest.raises(PakeFailed, match="does not match"):
            member.confirm(bytes(CONFIRM_BYTES))


def test_js_member_refuses_an_invalid_share(node_peer: NodePeer) -> None:
    ids = channel()
    start = {"role": "member", "words": "amber-falcon", "channel": js_channel(ids)}
    node_peer.ask({"start": start})
    assert node_peer.ask({"share": bytes(32).hex()}) == {
        "failed": "the other side's share is not a valid group element"
    }
