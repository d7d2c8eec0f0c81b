"""CPace over ristretto255 (core/pake.py): the draft's own test vectors, then the
joiner/member exchange with key confirmation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peerlane.core import pake
from peerlane.core.pake import JoinerPake, MemberPake, PakeFailed

VECTORS = json.loads(
    (Path(__file__).parent.parent / "vectors" / "cpace-ristretto255.json").read_text()
)


def h(name: str) -> bytes:
    return bytes.fromhex(VECTORS[name])


def test_prepend_len_vectors() -> None:
    for case in VECTORS["prepend_len"]:
        if "range" in case:
            data = bytes(range(case["range"]))
            assert pake.prepend_len(data) == bytes.fromhex(case["prefix"]) + data
        else:
            assert pake.prepend_len(bytes.fromhex(case["data"])).hex() == case["out"]


def test_lv_cat_and_transcript_vectors() -> None:
    parts = [bytes.fromhex(p) for p in VECTORS["lv_cat"]["parts"]]
    assert pake.lv_cat(*parts).hex() == VECTORS["lv_cat"]["out"]
    for case in VECTORS["transcript_ir"]:
        args = (bytes.fromhex(case[k]) for k in ("ya", "ada", "yb", "adb"))
        assert pake.transcript_ir(*args).hex() == case["out"]


def test_generator_vectors() -> None:
    assert pake.generator_string(h("prs"), h("ci"), h("sid")) == h("generator_string")
    assert pake.calculate_generator(h("prs"), h("ci"), h("sid")) == h("g")


def test_shares_secret_point_and_isk_vectors() -> None:
    ya = pake.scalar_mult(h("ya"), h("g"))
    yb = pake.scalar_mult(h("yb"), h("g"))
    assert (ya, yb) == (h("Ya"), h("Yb"))
    k = pake.scalar_mult(h("ya"), yb)
    assert k == pake.scalar_mult(h("yb"), ya) == h("K")
    transcript = pake.transcript_ir(ya, h("ada"), yb, h("adb"))
    assert transcript == h("transcript_ir_out")
    assert pake.intermediate_session_key(h("sid"), k, transcript) == h("ISK_IR")


def test_scalar_mult_vfy_vectors() -> None:
    valid = {k: bytes.fromhex(v) for k, v in VECTORS["scalar_mult_valid"].items()}
    assert pake.scalar_mult(valid["s"], valid["X"]) == valid["out"]
    for bad in VECTORS["scalar_mult_invalid"]:
        assert pake.scalar_mult(valid["s"], bytes.fromhex(bad)) == pake.IDENTITY
    assert pake.scalar_mult(valid["s"], b"short") == pake.IDENTITY


def test_sampled_scalars_are_below_the_group_order() -> None:
    order = 2**252 + 27742317777372353535851937790883648493
    for _ in range(50):
        assert 0 < int.from_bytes(pake.sample_scalar(), "little") < order


def test_prepend_len_of_a_long_string_is_leb128() -> None:
    assert pake.prepend_len(bytes(300))[:2] == bytes([0xAC, 0x02])


IDS = {"invite_id": "inv-1", "joiner_id": "joiner", "member_id": "member", "sid": b"s" * 16}


def run(joiner_words: str, member_words: str) -> tuple[JoinerPake, MemberPake, bytes]:
    joiner = JoinerPake.start(joiner_words, **IDS)
    member = MemberPake.start(member_words, **IDS)
    return joiner, member, member.respond(joiner.share)


def test_right_words_give_both_sides_the_same_keys() -> None:
    joiner, member, member_confirm = run("Amber Falcon", "amber-falcon")
    joiner_confirm, joiner_keys = joiner.finish(member.share, member_confirm)
    member_keys = member.confirm(joiner_confirm)
    assert joiner_keys == member_keys
    assert len(joiner_keys.isk) == 64
    assert len(joiner_keys.handover_key) == 32


def test_wrong_words_fail_on_both_sides() -> None:
    joiner, member, member_confirm = run("amber-falcon", "amber-falcons")
    with pytest.raises(PakeFailed, match="does not match"):
        joiner.finish(member.share, member_confirm)
    # A joiner that skips its own check and sends a tag anyway is refused by the member.
    with pytest.raises(PakeFailed, match="does not match"):
        member.confirm(bytes(pake.CONFIRM_BYTES))


@pytest.mark.parametrize("field", ["invite_id", "joiner_id", "member_id", "sid"])
def test_a_different_channel_or_session_fails(field: str) -> None:
    joiner = JoinerPake.start("amber-falcon", **IDS)
    other = {**IDS, field: b"other" if field == "sid" else "other"}
    member = MemberPake.start("amber-falcon", **other)
    with pytest.raises(PakeFailed):
        joiner.finish(member.share, member.respond(joiner.share))


def test_invalid_shares_abort() -> None:
    joiner = JoinerPake.start("amber-falcon", **IDS)
    member = MemberPake.start("amber-falcon", **IDS)
    with pytest.raises(PakeFailed, match="valid group element"):
        member.respond(pake.IDENTITY)
    with pytest.raises(PakeFailed, match="valid group element"):
        joiner.finish(b"\xff" * 32, bytes(64))


def test_member_confirm_before_a_share_fails() -> None:
    member = MemberPake.start("amber-falcon", **IDS)
    with pytest.raises(PakeFailed, match="no share"):
        member.confirm(bytes(64))
