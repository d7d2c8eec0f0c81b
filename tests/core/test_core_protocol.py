"""The wire protocol: what parses, what is rejected with which code, and that nothing else
ever escapes :func:`parse_client_message`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerlane.core import protocol as p
from peerlane.errors import DEFAULT_MESSAGE, ErrorCode, ProtocolError, error_body

MAX = 64 * 1024


def parse(data: str | bytes, max_size: int = MAX) -> p.ClientMessage:
    return p.parse_client_message(data, max_size=max_size)


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def rejected(data: str | bytes, max_size: int = MAX) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse(data, max_size)
    return info.value


# --- every client message parses -------------------------------------------------------

VALID: list[tuple[dict[str, Any], p.ClientMessage]] = [
    ({"type": "hello", "v": 1}, p.Hello(v=1)),
    ({"type": "hello", "v": 1, "last_seq": 41}, p.Hello(v=1, last_seq=41)),
    ({"type": "hello", "v": 1, "last_seq": None}, p.Hello(v=1)),
    ({"type": "chat", "id": "m-1", "body": "hi"}, p.Chat(id="m-1", body="hi")),
    (
        {
            "type": "chat",
            "id": "a.B_9:x-y",
            "body": {"k": [1, 2.5, None, True]},
            "kind": "reaction",
            "ref": 3,
        },
        p.Chat(id="a.B_9:x-y", body={"k": [1, 2.5, None, True]}, kind="reaction", ref=3),
    ),
    (
        {"type": "chat", "id": "f", "body": None, "kind": "file"},
        p.Chat(id="f", body=None, kind="file"),
    ),
    (
        {"type": "signal", "to": "peer_1", "kind": "offer", "data": {"sdp": "v=0"}},
        p.Signal(to="peer_1", kind="offer", data={"sdp": "v=0"}),
    ),
    ({"type": "signal", "to": "p-2", "kind": "bye"}, p.Signal(to="p-2", kind="bye")),
    ({"type": "sync", "after": 0}, p.Sync(after=0)),
    ({"type": "typing", "active": True}, p.Typing(active=True)),
    ({"type": "receipt", "seq": 2**53}, p.Receipt(seq=2**53)),
    ({"type": "ping"}, p.Ping()),
    ({"type": "ping", "nonce": "n-1"}, p.Ping(nonce="n-1")),
    ({"type": "stored", "ids": ["m-1", "m-2"]}, p.StoredQuery(ids=["m-1", "m-2"])),
]


def test_valid_examples_cover_every_client_type() -> None:
    assert {raw["type"] for raw, _ in VALID} == p.CLIENT_TYPES


@pytest.mark.parametrize(("raw", "expected"), VALID, ids=lambda v: str(v)[:40])
def test_valid_message_parses_from_text_and_bytes(
    raw: dict[str, Any], expected: p.ClientMessage
) -> None:
    text = json.dumps(raw)
    assert parse(text) == expected
    assert parse(text.encode()) == expected
    assert type(parse(text)) is type(expected)


# --- rejections and their codes ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "nope"},
        {"type": 5},
        {"type": None},
        {},
        {"kind": "chat"},
        {"type": "welcome"},
        {"type": "CHAT"},
    ],
)
def test_unknown_type(raw: dict[str, Any]) -> None:
    err = rejected(json.dumps(raw))
    assert err.code is ErrorCode.UNKNOWN_TYPE
    assert "chat" in err.message  # it lists what is expected


@pytest.mark.parametrize(
    "data",
    [
        "",
        "{",
        "{'type': 'ping'}",
        '{"type": "ping",}',
        b"\xff\xfe\xfa",
        b'{"type": "ping", "nonce": "\xc3"}',
        "[" * 60_000,  # deeper than the parser's recursion limit
        '{"type": "ping"} trailing',
        # Python accepts these; JSON, browsers and the storage layer do not.
        "NaN",
        '{"type": "chat", "id": "a", "body": NaN}',
        '{"type": "chat", "id": "a", "body": [-Infinity]}',
        '{"type": "chat", "id": "a", "body": 1e999}',
        '{"type": "chat", "id": "a", "body": "\\ud800"}',
        '{"type": "signal", "to": "p", "kind": "offer", "data": {"\\udfff": 1}}',
        '{"type": "chat", "id": "a", "body": "raw \ud800"}',
        b'{"type": "chat", "id": "a", "body": "\xed\xa0\x80"}',  # a surrogate in UTF-8 bytes
    ],
)
def test_invalid_json(data: str | bytes) -> None:
    assert rejected(data).code is ErrorCode.INVALID_JSON


def test_valid_surrogate_pair_is_fine() -> None:
    message = parse('{"type": "chat", "id": "a", "body": "\\ud83d\\ude00"}')
    assert isinstance(message, p.Chat)
    assert message.body == "😀"


@pytest.mark.parametrize("data", ["[]", '[{"type": "ping"}]', "1", '"ping"', "null", "true", "2.5"])
def test_non_object_is_invalid_message(data: str) -> None:
    err = rejected(data)
    assert err.code is ErrorCode.INVALID_MESSAGE
    assert "object" in err.message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "hello", "v": "one"}, "v"),
        ({"type": "hello", "v": 0}, "v"),
        ({"type": "hello"}, "v"),
        ({"type": "hello", "v": 1, "last_seq": -1}, "last_seq"),
        ({"type": "hello", "v": 1, "last_seq": 2**53 + 1}, "last_seq"),
        ({"type": "chat", "id": ["a"], "body": 1}, "id"),
        ({"type": "chat", "id": "", "body": 1}, "id"),
        ({"type": "chat", "id": "has space", "body": 1}, "id"),
        ({"type": "chat", "id": "x" * 65, "body": 1}, "id"),
        ({"type": "chat", "body": 1}, "id"),
        ({"type": "chat", "id": "a"}, "body"),
        ({"type": "chat", "id": "a", "body": 1, "kind": "video"}, "kind"),
        ({"type": "chat", "id": "a", "body": 1, "ref": -3}, "ref"),
        ({"type": "chat", "id": "a", "body": 1, "ref": "first"}, "ref"),
        ({"type": "signal", "to": "", "kind": "offer"}, "to"),
        ({"type": "signal", "to": "a/b", "kind": "offer"}, "to"),
        ({"type": "signal", "to": 7, "kind": "offer"}, "to"),
        ({"type": "signal", "to": "p", "kind": "hug"}, "kind"),
        ({"type": "signal", "to": "p"}, "kind"),
        ({"type": "sync", "after": "abc"}, "after"),
        ({"type": "sync"}, "after"),
        ({"type": "typing", "active": {}}, "active"),
        ({"type": "typing", "active": [True]}, "active"),
        ({"type": "receipt", "seq": -1}, "seq"),
        ({"type": "receipt", "seq": 1.5}, "seq"),
        ({"type": "ping", "nonce": 5}, "nonce"),
        ({"type": "ping", "nonce": "n" * 65}, "nonce"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_wrong_field_is_invalid_message_naming_the_field(raw: dict[str, Any], field: str) -> None:
    err = rejected(json.dumps(raw))
    assert err.code is ErrorCode.INVALID_MESSAGE
    assert err.message.startswith("Invalid message: ")
    assert f"{field}: " in err.message
    assert err.http_status == 422


@pytest.mark.parametrize(("raw", "_"), VALID, ids=lambda v: str(v)[:40])
def test_extra_fields_are_rejected(raw: dict[str, Any], _: object) -> None:
    err = rejected(json.dumps({**raw, "admin": True}))
    assert err.code is ErrorCode.INVALID_MESSAGE
    assert "admin: " in err.message


@pytest.mark.parametrize("kind", ["chat", "signal"])
def test_nesting_limit(kind: str) -> None:
    def envelope(depth: int) -> str:  # the frame object itself is one level
        value = "[" * (depth - 1) + "]" * (depth - 1)
        if kind == "chat":
            return '{"type": "chat", "id": "a", "body": ' + value + "}"
        return '{"type": "signal", "to": "p", "kind": "offer", "data": ' + value + "}"

    parse(envelope(p.MAX_DEPTH))
    err = rejected(envelope(p.MAX_DEPTH + 1))
    assert err.code is ErrorCode.INVALID_MESSAGE
    assert err.message == "The message is nested too deeply."


def test_deepest_accepted_body_can_be_sent_on() -> None:
    # Regression: pydantic validated bodies ~254 deep that model_dump_json then refused,
    # so a stored message could never be published or replayed.
    depth = p.MAX_DEPTH - 1
    chat = parse('{"type": "chat", "id": "a", "body": ' + "[" * depth + "]" * depth + "}")
    assert isinstance(chat, p.Chat)
    sent = p.Message(seq=1, id="a", sender="s", sender_name="S", ts=0.0, body=chat.body)
    assert p.Message.model_validate_json(p.dump(sent)) == sent
    assert rejected('{"type": "chat", "id": "a", "body": ' + "[" * 254 + "]" * 254 + "}")


def test_nesting_too_deep_for_the_validator_is_invalid_message() -> None:
    depth = 900  # the JSON parser copes; pydantic stops at its own limit
    err = rejected('{"type": "chat", "id": "a", "body": ' + "[" * depth + "]" * depth + "}")
    assert err.code is ErrorCode.INVALID_MESSAGE


def test_validation_detail_is_short() -> None:
    raw = {"type": "chat", "id": 1, "body": 1, "kind": 2, "ref": "x", "a": 1, "b": 2}
    err = rejected(json.dumps(raw))
    assert err.message.count(": ") <= 4  # "Invalid message: " and at most three fields


# --- size ------------------------------------------------------------------------------


def test_frame_at_the_limit_parses_and_one_byte_more_does_not() -> None:
    text = frame(type="ping", nonce="n")
    assert parse(text, max_size=len(text)) == p.Ping(nonce="n")
    err = rejected(text + " ", max_size=len(text))
    assert err.code is ErrorCode.MESSAGE_TOO_LARGE
    assert str(len(text)) in err.message
    assert err.http_status == 413


@pytest.mark.parametrize("data", ["{" * 101, b"\xff" * 101, "x" * 101, "[" * 101])
def test_size_is_checked_before_parsing(data: str | bytes) -> None:
    assert rejected(data, max_size=100).code is ErrorCode.MESSAGE_TOO_LARGE


def test_text_frames_are_measured_in_utf8_bytes() -> None:
    text = frame(type="ping", nonce="é" * 20)  # ensure_ascii: escapes, all ASCII
    raw_text = text.encode().decode("unicode_escape")  # the same frame with real "é"s
    assert len(raw_text) < len(raw_text.encode())
    assert parse(raw_text, max_size=len(raw_text.encode())) == p.Ping(nonce="é" * 20)
    assert rejected(raw_text, max_size=len(raw_text)).code is ErrorCode.MESSAGE_TOO_LARGE


# --- body_size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "size"),
    [
        (None, 4),
        ("", 2),
        ("é", 4),
        ("😀", 6),
        ({"a": [1, 2]}, len('{"a":[1,2]}')),
        ([True, None, "x y"], len('[true,null,"x y"]')),
        ('"', 4),  # escaped quote: "\""
    ],
)
def test_body_size_examples(body: Any, size: int) -> None:
    assert p.body_size(body) == size


# --- server messages and errors ----------------------------------------------------------


def test_error_message_has_the_one_error_shape() -> None:
    out = json.loads(p.dump(p.error_message(ErrorCode.PEER_NOT_FOUND, ref="m-1")))
    assert out == {"type": "error", "ref": "m-1", **error_body(ErrorCode.PEER_NOT_FOUND)}
    custom = json.loads(p.dump(p.error_message(ErrorCode.RATE_LIMITED, "Slow down.")))
    assert custom["error"] == {"code": "rate_limited", "message": "Slow down."}
    assert custom["ref"] is None


def test_error_message_defaults_to_the_codes_message() -> None:
    for code in ErrorCode:
        assert p.error_message(code).error.message == DEFAULT_MESSAGE[code]


def test_server_types_match_the_server_models() -> None:
    models: list[type[p.WireModel]] = [
        p.Welcome,
        p.Presence,
        p.Message,
        p.Ack,
        p.Synced,
        p.SignalRelay,
        p.TypingRelay,
        p.ReceiptRelay,
        p.KeysRelay,
        p.Pong,
        p.StoredAnswer,
        p.Error,
    ]
    assert {m.model_fields["type"].default for m in models} == p.SERVER_TYPES


WELCOME = {
    "peer_id": "p-1",
    "participant_id": "part-1",
    "name": "Ann",
    "role": "owner",
    "room_id": "r-1",
    "room_name": "Lane",
    "peers": [],
    "latest_seq": 0,
    "ice_servers": [],
}


def test_welcome_carries_the_mesh_connect_timeout() -> None:
    assert p.Welcome(**WELCOME).mesh_connect_timeout is None  # the client keeps its 15 s
    sent = json.loads(p.dump(p.Welcome(**WELCOME, mesh_connect_timeout=4.5)))
    assert sent["mesh_connect_timeout"] == 4.5
    assert p.Welcome.model_validate(sent).mesh_connect_timeout == 4.5


@pytest.mark.parametrize("seconds", [0, -1])
def test_welcome_refuses_a_mesh_connect_timeout_of_no_time(seconds: float) -> None:
    with pytest.raises(ValueError, match="mesh_connect_timeout"):
        p.Welcome(**WELCOME, mesh_connect_timeout=seconds)


# --- property tests ----------------------------------------------------------------------

# Any code point, lone surrogates included (st.characters() leaves them out by default).
any_char = st.characters() | st.characters(categories=["Cs"])
any_text = st.text(any_char, max_size=30)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±inf included: json.dumps writes them as NaN/Infinity
    | any_text
)


def nested_lists(depth: int, leaf: Any = None) -> Any:
    value: Any = leaf
    for _ in range(depth):
        value = [value]
    return value


json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=20,
) | st.builds(nested_lists, st.integers(0, 900), json_scalars)  # json.dumps stops near 1000

FIELDS = [
    "v",
    "last_seq",
    "id",
    "body",
    "kind",
    "ref",
    "to",
    "data",
    "after",
    "active",
    "seq",
    "nonce",
]
message_like = (
    st.builds(
        lambda kind, fields: {"type": kind, **fields},
        st.sampled_from(sorted(p.CLIENT_TYPES)) | any_text,
        st.dictionaries(st.sampled_from(FIELDS) | any_text, json_values, max_size=5),
    )
    # Well-formed envelopes around arbitrary opaque values, where surprises would hide.
    | st.builds(lambda body: {"type": "chat", "id": "m-1", "body": body}, json_values)
    | st.builds(
        lambda data: {"type": "signal", "to": "peer-1", "kind": "offer", "data": data}, json_values
    )
)


def parses_or_protocol_error(data: str | bytes, max_size: int = MAX) -> None:
    """The whole contract: a valid message, or a ProtocolError; nothing else escapes."""
    try:
        message = parse(data, max_size)
    except ProtocolError as exc:
        error: ProtocolError | None = exc
    else:
        error = None
    if error is not None:
        assert error.code in {
            ErrorCode.INVALID_JSON,
            ErrorCode.INVALID_MESSAGE,
            ErrorCode.UNKNOWN_TYPE,
            ErrorCode.MESSAGE_TOO_LARGE,
        }
        assert error.message
        return
    assert message.type in p.CLIENT_TYPES
    # Whatever parsed can be measured, sent on as the server sends it, and reads back as itself.
    if isinstance(message, p.Chat):
        p.body_size(message.body)
        p.dump(
            p.Message(seq=1, id=message.id, sender="s", sender_name="S", ts=0.0, body=message.body)
        )
    if isinstance(message, p.Signal):
        p.body_size(message.data)
        p.dump(p.SignalRelay(sender="s", kind=message.kind, data=message.data))
    assert parse(p.dump(message), max_size=10**7) == message


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    parses_or_protocol_error(data)


@settings(deadline=None)
@given(any_text | st.text())
def test_arbitrary_text(data: str) -> None:
    parses_or_protocol_error(data)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_values(value: Any) -> None:
    text = json.dumps(value)
    parses_or_protocol_error(text)
    parses_or_protocol_error(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(message_like)
def test_arbitrary_message_like_objects(raw: dict[str, Any]) -> None:
    parses_or_protocol_error(json.dumps(raw))


@settings(deadline=None)
@given(message_like, st.integers(0, 200))
def test_arbitrary_messages_under_a_small_limit(raw: dict[str, Any], max_size: int) -> None:
    parses_or_protocol_error(json.dumps(raw), max_size=max_size)


@settings(deadline=None)
@given(st.integers(0, 5000))
def test_deeply_nested_lists(depth: int) -> None:
    parses_or_protocol_error("[" * depth + "]" * depth)
    body = "[" * depth + "]" * depth
    parses_or_protocol_error('{"type": "chat", "id": "a", "body": ' + body + "}")
    parses_or_protocol_error('{"type": "signal", "to": "p", "kind": "offer", "data": ' + body + "}")


# Valid messages, for round trips: finite floats, no lone surrogates.
client_ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)
peer_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
seqs = st.integers(0, 2**53)
valid_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
valid_messages = (
    st.builds(p.Hello, v=st.integers(1, 1000), last_seq=st.none() | seqs)
    | st.builds(
        p.Chat,
        id=client_ids,
        body=valid_json,
        kind=st.sampled_from(["text", "reaction", "file"]),
        ref=st.none() | seqs,
    )
    | st.builds(
        p.Signal,
        to=peer_ids,
        kind=st.sampled_from(["offer", "answer", "candidate", "bye"]),
        data=valid_json,
    )
)


@settings(deadline=None)
@given(valid_messages)
def test_round_trip(message: p.Hello | p.Chat | p.Signal) -> None:
    text = p.dump(message)
    assert parse(text, max_size=10**7) == message
    assert parse(text.encode(), max_size=10**7) == message


@settings(deadline=None)
@given(valid_json)
def test_body_size_is_compact_utf8_json(body: Any) -> None:
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert p.body_size(body) == len(compact.encode("utf-8"))
    assert p.body_size(body) >= len(compact)
    assert json.loads(compact) == body
