"""One exception root and one error vocabulary for HTTP and WebSocket.

Exception tree::

    PeerlaneError                 every error peerlane raises on purpose
    ├── ProtocolError             a client sent something malformed (400)
    ├── AuthError                 no or bad credentials (401)
    ├── ForbiddenError            authenticated, but not allowed (403)
    ├── NotFoundError             no such room, invite, participant (404)
    ├── ConflictError             state does not allow it (409)
    ├── GoneError                 expired, revoked or used-up invite (410)
    ├── LimitError                size, count or quota limit exceeded (413/429/507)
    ├── StorageError              the file store cannot take the bytes: disk full (507)
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
    CODE_MISMATCH = "code_mismatch"
    PAKE_REQUIRED = "pake_required"
    DUPLICATE_ID = "duplicate_id"
    ROOM_FULL = "room_full"
    ROOM_MOVED = "room_moved"
    MESSAGE_TOO_LARGE = "message_too_large"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_ROOMS = "too_many_rooms"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"
    PARTICIPANT_REMOVED = "participant_removed"
    NOT_YOUR_MESSAGE = "not_your_message"
    MESSAGE_NOT_FOUND = "message_not_found"
    MESSAGE_DELETED = "message_deleted"
    TELEMETRY_OFF = "telemetry_off"
    KEY_EPOCH_CONFLICT = "key_epoch_conflict"
    # files: tus uploads, shares, room files
    UNSUPPORTED_TUS_VERSION = "unsupported_tus_version"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_METADATA = "invalid_metadata"
    UNSUPPORTED_CHECKSUM = "unsupported_checksum"
    OFFSET_MISMATCH = "offset_mismatch"
    UPLOAD_LOCKED = "upload_locked"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    HASH_MISMATCH = "hash_mismatch"
    UPLOAD_NOT_FOUND = "upload_not_found"
    UPLOAD_EXPIRED = "upload_expired"
    UPLOAD_FAILED = "upload_failed"
    UPLOAD_LENGTH_EXCEEDED = "upload_length_exceeded"
    FILE_TOO_LARGE = "file_too_large"
    FILE_NOT_FOUND = "file_not_found"
    SHARE_NOT_FOUND = "share_not_found"
    SHARE_EXPIRED = "share_expired"
    SHARE_EXHAUSTED = "share_exhausted"
    ROOM_QUOTA_EXCEEDED = "room_quota_exceeded"
    SHARE_QUOTA_EXCEEDED = "share_quota_exceeded"
    STORAGE_QUOTA_EXCEEDED = "storage_quota_exceeded"
    STORAGE_FULL = "storage_full"
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable"
    TOO_MANY_SHARES = "too_many_shares"
    INSUFFICIENT_STORAGE = "insufficient_storage"
    TOO_MANY_UPLOADS = "too_many_uploads"
    UPLOAD_ALLOWANCE_EXCEEDED = "upload_allowance_exceeded"


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
    ErrorCode.CODE_MISMATCH: 403,
    ErrorCode.PAKE_REQUIRED: 409,
    ErrorCode.DUPLICATE_ID: 409,
    ErrorCode.ROOM_FULL: 409,
    ErrorCode.ROOM_MOVED: 409,
    ErrorCode.MESSAGE_TOO_LARGE: 413,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_MANY_ROOMS: 429,
    ErrorCode.TOO_MANY_ATTEMPTS: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.PARTICIPANT_REMOVED: 401,
    ErrorCode.NOT_YOUR_MESSAGE: 403,
    ErrorCode.MESSAGE_NOT_FOUND: 404,
    ErrorCode.MESSAGE_DELETED: 410,
    ErrorCode.TELEMETRY_OFF: 404,
    ErrorCode.KEY_EPOCH_CONFLICT: 409,
    ErrorCode.UNSUPPORTED_TUS_VERSION: 412,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.INVALID_METADATA: 400,
    ErrorCode.UNSUPPORTED_CHECKSUM: 400,
    ErrorCode.OFFSET_MISMATCH: 409,
    ErrorCode.UPLOAD_LOCKED: 423,
    ErrorCode.CHECKSUM_MISMATCH: 460,  # tus checksum extension
    ErrorCode.HASH_MISMATCH: 422,
    ErrorCode.UPLOAD_NOT_FOUND: 404,
    ErrorCode.UPLOAD_EXPIRED: 410,
    ErrorCode.UPLOAD_FAILED: 410,
    ErrorCode.UPLOAD_LENGTH_EXCEEDED: 413,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.FILE_NOT_FOUND: 404,
    ErrorCode.SHARE_NOT_FOUND: 404,
    ErrorCode.SHARE_EXPIRED: 410,
    ErrorCode.SHARE_EXHAUSTED: 410,
    ErrorCode.ROOM_QUOTA_EXCEEDED: 413,
    ErrorCode.SHARE_QUOTA_EXCEEDED: 413,
    ErrorCode.STORAGE_QUOTA_EXCEEDED: 507,
    ErrorCode.STORAGE_FULL: 507,
    ErrorCode.RANGE_NOT_SATISFIABLE: 416,
    ErrorCode.TOO_MANY_SHARES: 429,
    ErrorCode.INSUFFICIENT_STORAGE: 507,
    ErrorCode.TOO_MANY_UPLOADS: 429,
    ErrorCode.UPLOAD_ALLOWANCE_EXCEEDED: 429,
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
    ErrorCode.CODE_MISMATCH: "That code is not right; check it and try again.",
    ErrorCode.PAKE_REQUIRED: "This room is end-to-end encrypted: its code is checked by a member.",
    ErrorCode.CODE_RETIRED: "This code was retired after too many wrong guesses; "
    "ask the room's owner for a new invite.",
    ErrorCode.DUPLICATE_ID: "An item with this id already exists.",
    ErrorCode.ROOM_FULL: "The room is full.",
    ErrorCode.ROOM_MOVED: "This room moved to an end-to-end encrypted room; it is read-only now.",
    ErrorCode.MESSAGE_TOO_LARGE: "The message is larger than the server accepts.",
    ErrorCode.BODY_TOO_LARGE: "The chat message body is larger than the server accepts.",
    ErrorCode.RATE_LIMITED: "Too many messages; slow down and try again in a moment.",
    ErrorCode.TOO_MANY_ROOMS: "Too many rooms created from your address; try again later.",
    ErrorCode.TOO_MANY_ATTEMPTS: "Too many join attempts from your address; try again later.",
    ErrorCode.UNAVAILABLE: "The server is not ready; try again shortly.",
    ErrorCode.INTERNAL_ERROR: "Something went wrong on the server; try again.",
    ErrorCode.PARTICIPANT_REMOVED: "The room's owner removed you from this room.",
    ErrorCode.NOT_YOUR_MESSAGE: "You can only edit or delete your own messages.",
    ErrorCode.MESSAGE_NOT_FOUND: "That message is no longer in the room; it may have expired.",
    ErrorCode.MESSAGE_DELETED: "That message was deleted and can no longer be changed.",
    ErrorCode.TELEMETRY_OFF: "This server does not collect connection reports.",
    ErrorCode.KEY_EPOCH_CONFLICT: "The room's key changed meanwhile; fetch the keys again.",
    ErrorCode.UNSUPPORTED_TUS_VERSION: "Send 'Tus-Resumable: 1.0.0' with every upload request.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Upload chunks must be sent as "
    "'Content-Type: application/offset+octet-stream'.",
    ErrorCode.INVALID_METADATA: "The upload's metadata is not valid.",
    ErrorCode.UNSUPPORTED_CHECKSUM: "That checksum algorithm is not supported; use sha1 or sha256.",
    ErrorCode.OFFSET_MISMATCH: "The upload is at a different offset; ask for the current "
    "offset (HEAD) and continue from there.",
    ErrorCode.UPLOAD_LOCKED: "Another request is writing to this upload; try again in a moment.",
    ErrorCode.CHECKSUM_MISMATCH: "The chunk does not match its checksum and was discarded; "
    "send it again.",
    ErrorCode.HASH_MISMATCH: "The file does not match the root hash given for it and was "
    "discarded; upload it again.",
    ErrorCode.UPLOAD_NOT_FOUND: "No such upload; it may have been finished, deleted or "
    "cleaned up. Start a new upload.",
    ErrorCode.UPLOAD_EXPIRED: "This upload expired before it was finished; start a new upload.",
    ErrorCode.UPLOAD_FAILED: "This upload failed and cannot be continued; start a new upload.",
    ErrorCode.UPLOAD_LENGTH_EXCEEDED: "The chunk goes past the upload's declared length.",
    ErrorCode.FILE_TOO_LARGE: "The file is larger than the server accepts.",
    ErrorCode.FILE_NOT_FOUND: "No such file; it may have been deleted or expired.",
    ErrorCode.SHARE_NOT_FOUND: "No share matches that link; check it and try again.",
    ErrorCode.SHARE_EXPIRED: "This share has expired; ask the sender to share the files again.",
    ErrorCode.SHARE_EXHAUSTED: "This file has been downloaded as often as the sender allowed.",
    ErrorCode.ROOM_QUOTA_EXCEEDED: "The room's file storage is full; delete some files first.",
    ErrorCode.SHARE_QUOTA_EXCEEDED: "The files are larger than this share allows.",
    ErrorCode.STORAGE_QUOTA_EXCEEDED: "The server's file storage is full; try again later.",
    ErrorCode.STORAGE_FULL: "The server's disk is full; the upload was kept and can be "
    "resumed once space is freed.",
    ErrorCode.RANGE_NOT_SATISFIABLE: "The requested byte range is not within the file.",
    ErrorCode.TOO_MANY_SHARES: "Too many shares created from your address; try again later.",
    ErrorCode.INSUFFICIENT_STORAGE: "The server is keeping its last free disk space for "
    "itself and cannot take this file now; try again later or ask its operator.",
    ErrorCode.TOO_MANY_UPLOADS: "Too many uploads started in a short time; try again later.",
    ErrorCode.UPLOAD_ALLOWANCE_EXCEEDED: "You have uploaded as much as one day allows; "
    "try again later.",
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


class StorageError(PeerlaneError):
    """The file store cannot take more bytes (the disk is full)."""

    default_code = ErrorCode.STORAGE_FULL


class ConfigError(PeerlaneError):
    """A bad setting; raised at start-up and printed, never sent to a client."""

    default_code = ErrorCode.BAD_REQUEST
