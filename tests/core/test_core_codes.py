"""Short invite codes (``7-amber-falcon``) and their word lists."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerlane.core import codes
from peerlane.core.codes import ShortCode, free_nameplate, parse, random_words, words_match
from peerlane.core.words import ADJECTIVES, NOUNS


@pytest.mark.parametrize(
    "text",
    [
        "7-amber-falcon",
        "7 Amber Falcon",
        " 7--amber  falcon ",
        "7_amber.falcon",
        "7,amber/falcon",
        "\t7 - AMBER - FALCON\n",
    ],
)
def test_parse_accepts_what_people_type(text: str) -> None:
    assert parse(text) == ShortCode(nameplate=7, words="amber-falcon")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "amber-falcon",
        "x-y-z",
        "7-amber",
        "7-a-b-c-d-e-f-g",  # more words than any code has
        "-7-amber",
        "1234567890-amber-falcon",  # nameplates have at most nine digits
        "²-amber-falcon",  # str.isdigit() says yes, int() says no
        "٣-amber-falcon",  # a digit, but not one people type into this field
        "7x-amber-falcon",
    ],
)
def test_parse_rejects(text: str) -> None:
    assert parse(text) is None


def test_parse_keeps_large_nameplates_and_leading_zeros_apart() -> None:
    assert parse("123456789-a-b") == ShortCode(123456789, "a-b")
    assert parse("007-amber-falcon") == ShortCode(7, "amber-falcon")


def test_short_code_round_trip() -> None:
    code = ShortCode(nameplate=42, words="lucky-otter")
    assert str(code) == "42-lucky-otter"
    assert parse(str(code)) == code


@settings(deadline=None)
@given(st.text(st.characters() | st.characters(categories=["Cs"])))
def test_parse_never_raises(text: str) -> None:
    code = parse(text)
    if code is not None:
        assert 0 <= code.nameplate < 10**9
        assert code.words.count("-") == 1


@settings(deadline=None)
@given(st.integers(1, 10**6), st.sampled_from(ADJECTIVES), st.sampled_from(NOUNS))
def test_parse_reads_every_issued_code(nameplate: int, adjective: str, noun: str) -> None:
    code = ShortCode(nameplate, f"{adjective}-{noun}")
    assert parse(str(code)) == code
    assert parse(f"{nameplate} {adjective.upper()} {noun.title()}") == code


@pytest.mark.parametrize(
    ("in_use", "expected"),
    [([], 1), ([1], 2), ([1, 2, 4], 3), ([2, 3], 1), ([3, 1, 2], 4), (iter([1, 2]), 3)],
)
def test_free_nameplate(in_use: list[int], expected: int) -> None:
    assert free_nameplate(in_use) == expected


@settings(deadline=None)
@given(st.sets(st.integers(-5, 60)))
def test_free_nameplate_is_the_smallest_free_positive(in_use: set[int]) -> None:
    n = free_nameplate(in_use)
    assert n >= 1
    assert n not in in_use
    assert all(k in in_use for k in range(1, n))


def test_random_words_come_from_the_lists() -> None:
    for _ in range(200):
        adjective, noun = random_words().split("-")
        assert adjective in ADJECTIVES
        assert noun in NOUNS


@pytest.mark.parametrize("words", [ADJECTIVES, NOUNS], ids=["adjectives", "nouns"])
def test_word_list_shape(words: tuple[str, ...]) -> None:
    assert len(set(words)) == len(words), "duplicates"
    assert all(re.fullmatch(r"[a-z]{3,}", w) for w in words), "lowercase ascii, >= 3 letters"
    assert len(words) >= 100


def test_word_lists_do_not_overlap() -> None:
    assert not set(ADJECTIVES) & set(NOUNS)
    assert len(ADJECTIVES) * len(NOUNS) == codes.WORD_SPACE


@pytest.mark.parametrize(
    ("expected", "given_", "match"),
    [
        ("amber-falcon", "amber-falcon", True),
        ("amber-falcon", "amber-falco", False),
        ("amber-falcon", "Amber-falcon", False),  # parse() lower-cases before this
        ("amber-falcon", "", False),
        ("amber-falcon", "ambér-falcon", False),
    ],
)
def test_words_match(expected: str, given_: str, match: bool) -> None:
    assert words_match(expected, given_) is match


@settings(deadline=None)
@given(st.text(), st.text())
def test_words_match_is_equality(a: str, b: str) -> None:
    assert words_match(a, b) is (a == b)


@pytest.mark.parametrize("count", [2, 3, 4, 6])
def test_codes_of_more_words(count: int) -> None:
    words = random_words(count)
    *adjectives, noun = words.split("-")
    assert len(adjectives) == count - 1
    assert set(adjectives) <= set(ADJECTIVES)
    assert noun in NOUNS
    assert parse(f"12 {words.replace('-', ' ').upper()}") == ShortCode(12, words)
    assert codes.word_space(count) == len(ADJECTIVES) ** (count - 1) * len(NOUNS)
