"""The secrets of an invite — its link token and its code's words — and how the server
keeps only hashes of them.

Both secrets are derived from the server secret and the invite's id (HMAC-SHA256), so
the database holds neither: a link token is stored as its SHA-256 (a high-entropy token
needs no key), the words as a keyed hash (HMAC with the server secret over the invite id
and the words), since a few words are cheap to guess against a plain hash. The server
can still show the link and code of a live invite to the room (invite panel, QR code)
by deriving them again and checking them against the stored hashes; a database leak
without the server secret gives neither away. Invites from before this scheme (their
hashes match no derivation) show no link or code; their links still work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from peerlane.core.codes import MAX_WORDS, MIN_WORDS, words_from

_LINK = b"peerlane invite link\x00"
_CODE = b"peerlane invite code\x00"
_WORDS_HASH = b"peerlane code words\x00"


def _mac(key: bytes, label: bytes, *parts: str) -> bytes:
    return hmac.new(key, label + "\x00".join(parts).encode(), hashlib.sha256).digest()


def link_token(key: bytes, invite_id: str) -> str:
    """The invite link's secret: 24 bytes (192 bits), base64url."""
    return base64.urlsafe_b64encode(_mac(key, _LINK, invite_id)[:24]).decode()


def code_words(key: bytes, invite_id: str, count: int) -> str:
    """The code's ``count`` secret words."""
    digest = _mac(key, _CODE, invite_id, str(count))
    numbers = (int.from_bytes(digest[i : i + 4], "big") for i in range(0, 4 * count, 4))
    return words_from(numbers, count)


def token_hash(token: str) -> str:
    """What the database keeps of a link token (and looks it up by)."""
    return hashlib.sha256(token.encode()).hexdigest()


def words_hash(key: bytes, invite_id: str, words: str) -> str:
    """What the database keeps of a code's words: keyed, and per invite."""
    return _mac(key, _WORDS_HASH, invite_id, words).hex()


def words_match(key: bytes, invite_id: str, stored: str | None, given: str) -> bool:
    """Constant-time: timing tells nothing about how close a guess was."""
    if stored is None:
        return False
    return hmac.compare_digest(words_hash(key, invite_id, given), stored)


def shown_link_token(key: bytes, invite_id: str, stored: str) -> str | None:
    """The link token again, if this server made it (else None: an older invite)."""
    token = link_token(key, invite_id)
    return token if hmac.compare_digest(token_hash(token), stored) else None


def shown_words(key: bytes, invite_id: str, stored: str | None) -> str | None:
    """The code's words again, whatever ``code_words`` was when it was made."""
    if stored is None:
        return None
    for count in range(MIN_WORDS, MAX_WORDS + 1):
        words = code_words(key, invite_id, count)
        if words_match(key, invite_id, stored, words):
            return words
    return None
