"""The terminal transfer's states, control messages and resume state (core.transfer_flow)."""

from __future__ import annotations

from peerlane.core import transfer_flow as tf
from peerlane.core.integrity import BLOCK_SIZE

ROOT = "ab" * 32


def test_every_listed_transition_moves_and_anything_else_is_refused() -> None:
    for table in (tf.INCOMING, tf.OUTGOING):
        events = {event for row in table.values() for event in row}
        for state, row in table.items():
            for event in events:
                flow = tf.Flow(table, state)
                assert flow.step(event) == (event in row)
                assert flow.state == row.get(event, state)
        for final in tf.FINAL:
            assert not any(tf.Flow(table, final).step(event) for event in events)
            assert tf.Flow(table, final).over


def test_a_receiver_goes_from_offer_to_done_and_a_sender_from_offer_to_done() -> None:
    incoming = tf.Flow(tf.INCOMING)
    for event in ("accept", "bytes-flowing", "channel-closed", "bytes-flowing", "verified"):
        assert incoming.step(event)
    assert incoming.state == "done"
    assert incoming.over
    outgoing = tf.Flow(tf.OUTGOING)
    for event in ("receiver-accept", "receiver-lost", "uploaded", "receiver-done"):
        assert outgoing.step(event)
    assert outgoing.state == "done"
    assert not outgoing.step("cancel")


def offer(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "op": "offer",
        "transfer": "t1",
        "name": "a.txt",
        "size": BLOCK_SIZE + 1,
        "type": "text/plain",
        "root": ROOT,
        "blocks": 2,
        "to": None,
        "peer": "peer1",
    }
    return body | changes


def test_offers_are_read_as_the_browser_reads_them() -> None:
    parsed = tf.parse_offer(offer(), "me")
    assert parsed == tf.Offer("t1", "a.txt", BLOCK_SIZE + 1, "text/plain", ROOT, None, "peer1")
    assert parsed.body() == offer()
    assert tf.parse_offer(offer(to="me"), "me") is not None
    for bad in (
        offer(to="someone else"),
        offer(op="accept"),
        offer(transfer="../x"),
        offer(size=-1),
        offer(size=True),
        offer(root="nope"),
        offer(root=7),
        offer(blocks=3),
    ):
        assert tf.parse_offer(bad, "me") is None, bad
    assert tf.parse_offer(["not", "a", "dict"], "me") is None
    odd = tf.parse_offer(offer(name=5, type=["x"], peer=3), "me")
    assert odd is not None
    assert (odd.name, odd.type, odd.peer) == ("", "", None)
    assert tf.parse_offer(offer(type="t" * 300), "me").type == "t" * 255  # type: ignore[union-attr]


def test_a_batch_says_how_many_offers_belong_together() -> None:
    batched = tf.Offer("t1", "a", 0, "", ROOT, batch="b1", count=3)
    body = batched.body()
    assert (body["batch"], body["count"], body["blocks"]) == ("b1", 3, 0)
    assert tf.parse_offer(body | {"root": ROOT}, "me") == batched
    assert tf.parse_offer(body | {"count": 0}, "me").batch is None  # type: ignore[union-attr]
    assert tf.parse_offer(body | {"batch": 1}, "me").count is None  # type: ignore[union-attr]


def test_control_messages_and_accepts() -> None:
    assert tf.control_body("accept", "t1", have=2) == {"op": "accept", "transfer": "t1", "have": 2}
    assert tf.transfer_id({"transfer": "t1"}) == "t1"
    assert tf.transfer_id("t1") is None
    assert tf.accepted_have({"have": 5}, 3) == 3
    assert tf.accepted_have({"have": "5"}, 3) == 0
    assert tf.accepted_have(None, 3) == 0


def test_resume_state_reads_back_only_for_its_own_file() -> None:
    state = tf.Partial(ROOT, 3 * BLOCK_SIZE, ["cd" * 32] * 3, {0, 1}, {})
    text = state.encode()
    assert tf.decode_partial(text, ROOT, 3 * BLOCK_SIZE) == state
    unlisted = tf.Partial(ROOT, 5 * BLOCK_SIZE, [], {0, 1, 3}, {0: "a", 1: "b", 3: "c"})
    assert tf.decode_partial(unlisted.encode(), ROOT, 5 * BLOCK_SIZE) == unlisted
    assert '"verified":[[0,1],[3,3]]' in unlisted.encode()
    assert tf.decode_partial(text, "cd" * 32, 3 * BLOCK_SIZE) is None  # another file
    assert tf.decode_partial(text, ROOT, 2 * BLOCK_SIZE) is None
    assert tf.decode_partial("{broken", ROOT, 3 * BLOCK_SIZE) is None
    assert tf.decode_partial("[]", ROOT, 3 * BLOCK_SIZE) is None
    short = tf.Partial(ROOT, 3 * BLOCK_SIZE, ["cd" * 32], {0}, {}).encode()
    assert tf.decode_partial(short, ROOT, 3 * BLOCK_SIZE) is None
    beyond = tf.Partial(ROOT, 3 * BLOCK_SIZE, [], {7}, {}).encode()
    assert tf.decode_partial(beyond, ROOT, 3 * BLOCK_SIZE) is None
