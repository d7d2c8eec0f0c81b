"""An end-to-end encrypted room's short-code words, sealed under the room key for the
room's members (docs/protocol.md, "Where the words come from"): the terminal's
counterpart of ``web/e2e/code-words.js``, byte for byte. The client that makes an invite
draws the words and stores only this envelope with the server (``sealed_code``), so
neither the server's database nor its secret gives them away."""

from __future__ import annotations

from peerlane.core import codes, e2e

INFO_CODE_WORDS = "peerlane e2e v1 code words"
# The words a drawn code has (the server's default code_words, the browser's CODE_WORDS).
CODE_WORDS = codes.MIN_WORDS


def draw_words(count: int = CODE_WORDS) -> str:
    """Fresh secret words, ``count - 1`` adjectives and a noun, each a uniform pick."""
    return codes.random_words(count)


def code_aad(room_id: str, invite_id: str) -> bytes:
    return INFO_CODE_WORDS.encode() + e2e.length_prefixed(room_id) + e2e.length_prefixed(invite_id)


def _code_key(key: e2e.RoomKey) -> bytes:
    return e2e.hkdf(key.secret, INFO_CODE_WORDS)


def seal_code_words(
    key: e2e.RoomKey, room_id: str, invite_id: str, words: str, nonce: bytes
) -> str:
    """An invite's words as ``sealed_code``: bound to the room and the invite."""
    aad = code_aad(room_id, invite_id)
    return e2e.seal(_code_key(key), key.kid, nonce, words.encode(), aad)


def open_code_words(key: e2e.RoomKey, envelope: object, room_id: str, invite_id: str) -> str:
    """The words of a ``sealed_code``, or an ``E2EError`` when it is not this room's and
    invite's (or not sealed under ``key``)."""
    plaintext = e2e.Envelope.parse(envelope).open(key, _code_key(key), code_aad(room_id, invite_id))
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise e2e.Malformed("the sealed words are not UTF-8") from exc


def trusted_words(
    key: e2e.RoomKey | None, sealed: object, room_id: str, invite_id: str
) -> str | None:
    """The words as members trust them: only from the sealed field, never from a clear
    ``code`` a server could have made up (None: nothing sealed, or it does not open)."""
    if key is None or not sealed:
        return None
    try:
        return open_code_words(key, sealed, room_id, invite_id)
    except e2e.E2EError:
        return None
