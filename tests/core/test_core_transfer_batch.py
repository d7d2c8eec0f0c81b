"""Batched control messages (core/transfer_batch.py): cut under the body limit, expanded
back into exactly the per-file messages they stand for, malformed parts dropped."""

from __future__ import annotations

from typing import Any

import pytest

from peerlane.core import protocol as p
from peerlane.core import transfer_batch as tb
from peerlane.core import transfer_flow as tf
from peerlane.core.fast_path import next_frame, parse_next

R = "ab" * 32
BATCH = "0123456789abcdef0123456789abcdef"
FAST = {"addrs": ["10.0.0.2:4000"], "fp": "cd" * 32}


def files(n: int) -> list[tuple[str, int, str, str]]:
    return [(f"photos/p{i:05}.jpg", 4096 + i, R, "image/jpeg" if i % 2 else "") for i in range(n)]


def test_offers_fit_the_body_limit_and_expand_to_the_per_file_offers() -> None:
    bodies = tb.offers_bodies(BATCH, files(500), peer="peer1", fast=FAST, max_bytes=8192)
    assert len(bodies) > 1
    assert all(p.body_size(b) <= 8192 for b in bodies)
    expanded = [o for b in bodies for o in tb.expand(b) or []]
    assert [o["transfer"] for o in expanded] == [tb.batch_transfer(BATCH, i) for i in range(500)]
    offers = [tf.parse_offer(o, "me") for o in expanded]
    assert all(o is not None and o.bulk and o.batch == BATCH and o.count == 500 for o in offers)
    first, second = offers[0], offers[1]
    assert first is not None
    assert second is not None
    assert (first.name, first.size, first.root, first.type) == ("photos/p00000.jpg", 4096, R, "")
    assert second.type == "image/jpeg"
    assert first.peer == "peer1"
    assert first.fast is not None
    assert first.to is None


def test_an_offer_to_one_receiver_is_for_them_only() -> None:
    [body] = tb.offers_bodies(BATCH, files(2), peer=None, to="bob")
    assert "fast" not in body
    expanded = tb.expand(body) or []
    assert [tf.parse_offer(o, "bob") is not None for o in expanded] == [True, True]
    assert [tf.parse_offer(o, "carol") for o in expanded] == [None, None]


def test_accepts_carry_have_only_for_resumed_files_and_the_fast_fields() -> None:
    haves = [(f"t{i}", 3 if i == 7 else 0) for i in range(1000)]
    bodies = tb.accepts_bodies(haves, fast={"cert": "QUJD"}, max_bytes=4096)
    assert len(bodies) > 1
    assert all(p.body_size(b) <= 4096 for b in bodies)
    assert next(b for b in bodies if "have" in b)["have"] == {"t7": 3}
    expanded = [a for b in bodies for a in tb.expand(b) or []]
    assert expanded[7] == {"op": "accept", "transfer": "t7", "have": 3, "fast": {"cert": "QUJD"}}
    assert [tf.accepted_have(a, 10) for a in expanded[:8]] == [0] * 7 + [3]
    [plain] = tb.accepts_bodies([("t1", 0)])
    assert plain == {"op": "accepts", "transfers": ["t1"]}
    assert tb.expand(plain) == [{"op": "accept", "transfer": "t1", "have": 0}]


def test_dones_expand_to_done_messages() -> None:
    bodies = tb.dones_bodies([f"{BATCH}-{i}" for i in range(2000)], max_bytes=16 * 1024)
    assert len(bodies) > 1
    expanded = [d for b in bodies for d in tb.expand(b) or []]
    assert expanded[1999] == {"op": "done", "transfer": f"{BATCH}-1999"}
    assert len(expanded) == 2000


@pytest.mark.parametrize(
    "body",
    [
        {"op": "offers", "batch": "no spaces", "first": 0, "count": 1, "files": [["a", 1, R]]},
        {"op": "offers", "batch": BATCH, "first": 0, "count": 1, "files": "a"},
        {"op": "offers", "batch": BATCH, "first": "0", "count": 1, "files": []},
        {"op": "offers", "batch": BATCH, "first": -1, "count": 1, "files": []},
        {"op": "offers", "batch": BATCH, "first": True, "count": 1, "files": []},
        {"op": "accepts", "transfers": "t1"},
        {"op": "dones"},
    ],
)
def test_malformed_batches_expand_to_nothing(body: dict[str, Any]) -> None:
    assert tb.expand(body) == []


def test_malformed_entries_are_dropped_and_the_rest_kept() -> None:
    body = {
        "op": "offers",
        "batch": BATCH,
        "first": 5,
        "count": 9,
        "files": [["a", 1, R], "junk", ["b"], ["c", -1, R], ["d", 2, R]],
    }
    expanded = tb.expand(body) or []
    # 5 kept, 6 and 7 junk, 8 kept (a size the offer check refuses), 9 past the count
    assert [o["transfer"] for o in expanded] == [f"{BATCH}-5", f"{BATCH}-8"]
    assert expanded[1]["blocks"] is None
    assert tf.parse_offer(expanded[1], "me") is None
    ids = tb.expand({"op": "dones", "transfers": ["ok-1", 5, "bad id", "x" * 65]})
    assert ids == [{"op": "done", "transfer": "ok-1"}]
    have = tb.expand({"op": "accepts", "transfers": ["t1"], "have": [1]})
    assert have == [{"op": "accept", "transfer": "t1", "have": 0}]


def test_other_bodies_are_not_batches() -> None:
    assert tb.expand({"op": "offer", "transfer": "t1"}) is None
    assert tb.expand("offers") is None


def test_a_plain_offer_is_not_bulk_unless_it_says_so() -> None:
    offer = tf.Offer("t1", "a", 1, "", R)
    assert tf.parse_offer(offer.body(), "me") == offer
    assert tf.parse_offer(offer.body() | {"bulk": True}, "me") == tf.Offer(
        "t1", "a", 1, "", R, bulk=True
    )


def test_the_fast_path_next_frame() -> None:
    assert parse_next(next_frame("t-1")) == "t-1"
    assert parse_next('{"t":"ok","block":1}') is None
    assert parse_next('{"t":"next",') is None
    assert parse_next('{"t":"next","transfer":"bad id"}') is None
    assert parse_next('{"t":"next","transfer":"t1\\n"}') is None
    assert parse_next('{"t":"next","transfer":5}') is None


def test_an_encrypted_rooms_offers_carry_each_files_key() -> None:
    # [name, size, root, type, key]: the key F rides inside the sealed body, per file.
    root = "ab" * 32
    [body] = tb.offers_bodies(
        "b1", [("a", 1, root, ""), ("c", 2, root, "x/y")], peer="p", keys=["K", "L"]
    )
    assert body["files"][0] == ["a", 1, root, "", "K"]
    assert [o.get("key") for o in tb.expand(body) or []] == ["K", "L"]


def test_an_offers_key_is_taken_only_in_its_one_spelling() -> None:
    good = "S0nlAzdrcHHtC1925-hTvC7SUGmn6En4xiwdVgK_qeA"
    base = tf.Offer("t1", "a.bin", 5, "", R).body()
    offer = tf.parse_offer(base | {"key": good}, "me")
    assert offer is not None
    assert offer.key == good
    assert tf.parse_offer(base, "me").key is None  # type: ignore[union-attr]
    for bad in ("short", 7, good[:-1] + "B"):  # (spare bits set: not a key's spelling)
        assert tf.parse_offer(base | {"key": bad}, "me") is None
