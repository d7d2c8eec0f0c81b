"""One exception root and one error vocabulary for HTTP and WebSocket.

Exception tree::

    PeerlaneError                 every error peerlane raises on purpose
    ├── ProtocolError             a client sent something malformed (400)
    ├── AuthError                 no or bad credentials (401)
    ├── ForbiddenError            authenticated, but not allowed (403)
    ├── NotFoundError             no such room, invite, participant (404)
    ├── ConflictError             state does not allow it (409)
    ├── GoneError                 expired, revoked or used-up invite (410)
    ├── LimitError                size or count limit exceeded (413/429)
    └── ConfigError               a bad setting at start-up

Every error carries an :class:`ErrorCode`; the code, not the class, is what clients
see, in the one shape ``{"error": {"code": ..., "message": ...}}``. Messages are
written for the person using the client: they say what happened and what to do.
Internal exception text never leaves the server; unexpected failures go out as
``internal_error``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every error code a client can receive, over HTTP or WebSocket."""

    BAD_REQUEST = "bad_request"
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    HELLO_REQUIRED = "hello_required"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - an error code, not a password
    FORBIDDEN = "forbidden"
    BAD_ORIGIN = "bad_origin"
    NOT_OWNER = "not_owner"
    ROOM_NOT_FOUND = "room_not_found"
    INVITE_NOT_FOUND = "invite_not_found"
    PEER_NOT_FOUND = "peer_not_found"
    NOT_FOUND = "not_found"
    INVITE_EXPIRED = "invite_expired"
    INVITE_REVOKED = "invite_revoked"
    INVITE_EXHAUSTED = "invite_exhausted"
    CODE_RETIRED = "code_retired"
    DUPLICATE_ID = "duplicate_id"
    ROOM_FULL = "room_full"
    MESSAGE_TOO_LARGE = "message_too_large"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_ROOMS = "too_many_rooms"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"


# HTTP status per code. WebSocket errors use the same codes in an ``error`` message.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_MESSAGE: 422,
    ErrorCode.UNKNOWN_TYPE: 400,
    ErrorCode.UNSUPPORTED_VERSION: 400,
    ErrorCode.HELLO_REQUIRED: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BAD_ORIGIN: 403,
    ErrorCode.NOT_OWNER: 403,
    ErrorCode.ROOM_NOT_FOUND: 404,
    ErrorCode.INVITE_NOT_FOUND: 404,
    ErrorCode.PEER_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INVITE_EXPIRED: 410,
    ErrorCode.INVITE_REVOKED: 410,
    ErrorCode.INVITE_EXHAUSTED: 410,
    ErrorCode.CODE_RETIRED: 410,
    ErrorCode.DUPLICATE_ID: 409,
    ErrorCode.ROOM_FULL: 409,
    ErrorCode.MESSAGE_TOO_LARGE: 413,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_MANY_ROOMS: 429,
    ErrorCode.TOO_MANY_ATTEMPTS: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}

# Default user-facing message per code, used when the raiser gives none.
DEFAULT_MESSAGE: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "The request is not valid.",
    ErrorCode.INVALID_JSON: "The message is not valid JSON.",
    ErrorCode.INVALID_MESSAGE: "The message has missing or wrongly typed fields.",
    ErrorCode.UNKNOWN_TYPE: "The message type is not known to this server.",
    ErrorCode.UNSUPPORTED_VERSION: "This client speaks a protocol version the server does not; "
    "reload the page or update the client.",
    ErrorCode.HELLO_REQUIRED: "Send a hello message first.",
    ErrorCode.UNAUTHORIZED: "You are not signed in to this room; join it with an invite.",
    ErrorCode.TOKEN_EXPIRED: "Your session has expired; join the room again with an invite.",
    ErrorCode.FORBIDDEN: "You are not allowed to do that.",
    ErrorCode.BAD_ORIGIN: "This page's origin is not allowed to use the session cookie.",
    ErrorCode.NOT_OWNER: "Only the room's owner can do that.",
    ErrorCode.ROOM_NOT_FOUND: "No such room; it may have been deleted or expired.",
    ErrorCode.INVITE_NOT_FOUND: "No invite matches that link or code; check it and try again.",
    ErrorCode.PEER_NOT_FOUND: "That participant is not connected to this room.",
    ErrorCode.NOT_FOUND: "Not found.",
    ErrorCode.INVITE_EXPIRED: "This invite has expired; ask the room's owner for a new one.",
    ErrorCode.INVITE_REVOKED: "This invite was revoked; ask the room's owner for a new one.",
    ErrorCode.INVITE_EXHAUSTED: "This invite has been used as often as allowed; "
    "ask the room's owner for a new one.",
    ErrorCode.CODE_RETIRED: "This code was retired after too many wrong guesses; "
    "ask the room's owner for a new invite.",
    ErrorCode.DUPLICATE_ID: "An item with this id already exists.",
    ErrorCode.ROOM_FULL: "The room is full.",
    ErrorCode.MESSAGE_TOO_LARGE: "The message is larger than the server accepts.",
    ErrorCode.BODY_TOO_LARGE: "The chat message body is larger than the server accepts.",
    ErrorCode.RATE_LIMITED: "Too many messages; slow down and try again in a moment.",
    ErrorCode.TOO_MANY_ROOMS: "Too many rooms created from your address; try again later.",
    ErrorCode.TOO_MANY_ATTEMPTS: "Too many join attempts from your address; try again later.",
    ErrorCode.UNAVAILABLE: "The server is not ready; try again shortly.",
    ErrorCode.INTERNAL_ERROR: "Something went wrong on the server; try again.",
}


class PeerlaneError(Exception):
    """Root of every error peerlane raises on purpose."""

    default_code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        code: ErrorCode | None = None,
        message: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or DEFAULT_MESSAGE[self.code]
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def to_dict(self) -> dict[str, Any]:
        """The one error shape, for HTTP bodies and WebSocket ``error`` messages."""
        return error_body(self.code, self.message)


def error_body(code: ErrorCode, message: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code.value, "message": message or DEFAULT_MESSAGE[code]}}


class ProtocolError(PeerlaneError):
    default_code = ErrorCode.INVALID_MESSAGE


class AuthError(PeerlaneError):
    default_code = ErrorCode.UNAUTHORIZED


class ForbiddenError(PeerlaneError):
    default_code = ErrorCode.FORBIDDEN


class NotFoundError(PeerlaneError):
    default_code = ErrorCode.NOT_FOUND


class ConflictError(PeerlaneError):
    default_code = ErrorCode.DUPLICATE_ID


class GoneError(PeerlaneError):
    default_code = ErrorCode.INVITE_EXPIRED


class LimitError(PeerlaneError):
    default_code = ErrorCode.RATE_LIMITED


class ConfigError(PeerlaneError):
    """A bad setting; raised at start-up and printed, never sent to a client."""

    default_code = ErrorCode.BAD_REQUEST
