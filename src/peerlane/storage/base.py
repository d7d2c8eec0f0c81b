"""The storage interface. Every method is one transaction; times are passed in."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from peerlane.core.records import (
    CleanupReport,
    HistorySetting,
    Invite,
    KeyWrap,
    MessageKind,
    Participant,
    Retention,
    Room,
    SessionRecord,
    StoredId,
    StoredMessage,
)
from peerlane.core.tus import UploadStatus
from peerlane.files.records import FilesCleanup, Quotas, Share, StoredFile


class FileIndex(Protocol):
    """The database side of files: shares, uploads and the files they become. The bytes
    themselves live in a :class:`peerlane.files.store.FileStore`."""

    # -- shares --

    async def create_share(self, share: Share) -> None: ...

    async def get_share(self, share_id: str) -> Share | None: ...

    async def get_share_by_token_hash(self, token_hash: str) -> Share | None: ...

    async def delete_share(self, share_id: str) -> list[str] | None:
        """Delete the share and its files; the ids of those files (their bytes are the
        caller's to delete), or None if there was no such share."""

    # -- uploads --

    async def create_upload(self, file: StoredFile, *, quotas: Quotas, now: float) -> StoredFile:
        """Store a new upload after checking, atomically with other creations: the room
        exists (ROOM_NOT_FOUND) or the share exists and is live (SHARE_NOT_FOUND,
        SHARE_EXPIRED), and the room's quota, the share's size limit and the storage
        quota hold, and the disk keeps its reserve (StorageError INSUFFICIENT_STORAGE).
        What each file counts is described by :class:`Quotas`: uploads under way count
        their full length until their reservation lapses, so they cannot together
        overrun a quota. Creating marks the room active."""

    async def get_file(self, file_id: str) -> StoredFile | None: ...

    async def list_files(
        self, *, room_id: str | None = None, share_id: str | None = None
    ) -> list[StoredFile]:
        """The complete files of a room or a share, oldest first."""

    async def lock_upload(
        self, file_id: str, owner: str, *, now: float, lease: float, quotas: Quotas | None = None
    ) -> StoredFile:
        """Take the upload's write lease for ``owner`` until ``now + lease`` (one writer at
        a time, across instances). Raise ConflictError(UPLOAD_LOCKED) while another
        owner's lease runs, NotFoundError(UPLOAD_NOT_FOUND) if there is no such upload.
        With ``quotas``, an unfinished upload whose reservation lapsed reserves again
        under the same checks as a creation, or the lease is not taken (their error)."""

    async def renew_upload_lock(
        self, file_id: str, owner: str, *, now: float, lease: float
    ) -> bool:
        """Extend ``owner``'s lease to ``now + lease``; False if ``owner`` no longer
        holds it (it ran out and another request took it, or the upload is gone)."""

    async def upload_lock_holders(self, file_id: str | None = None) -> list[str]:
        """The owners of the write leases held now or left behind (of one upload)."""

    async def release_upload_locks(self, owners: Sequence[str]) -> int:
        """Drop every lease these owners hold (they are known dead); how many."""

    async def save_progress(
        self,
        file_id: str,
        owner: str,
        *,
        offset: int,
        first_block: int,
        hashes: bytes,
        expires_at: float,
        now: float,
        lease: float,
    ) -> StoredFile:
        """Record the bytes written so far (already synced to disk) with the integrity
        hashes of the blocks ``first_block, ...`` they completed, and renew the lease.
        Raise ConflictError(UPLOAD_LOCKED) if ``owner`` lost the lease, NotFoundError if
        the upload is gone (deleted meanwhile)."""

    async def load_blocks(self, file_id: str) -> bytes:
        """The saved block hashes of an unfinished upload, concatenated in order."""

    async def finish_upload(
        self,
        file_id: str,
        owner: str,
        *,
        status: UploadStatus,
        root: str | None,
        now: float,
        expires_at: float | None,
    ) -> StoredFile:
        """End the upload as ``complete`` (offset = length) or ``failed``, drop its block
        hashes and release the lease. Raises as :meth:`save_progress`."""

    async def unlock_upload(self, file_id: str, owner: str) -> None:
        """Release ``owner``'s lease, if it still holds it."""

    async def delete_file(self, file_id: str) -> StoredFile | None:
        """Delete an upload or file row; the row deleted, or None."""

    async def count_download(self, file_id: str, *, max_downloads: int | None) -> bool:
        """Count one download of a complete file unless ``max_downloads`` are reached;
        False if it was not counted (concurrent downloads cannot exceed the limit)."""

    async def existing_file_ids(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that name a file row (to find bytes nobody refers to)."""

    async def cleanup_files(self, *, now: float) -> FilesCleanup:
        """Delete unfinished uploads past their expiry (unless being written), failed
        ones past theirs, and expired shares with their files."""


class Store(FileIndex, Protocol):
    """What the server needs from a database. Implementations raise only
    :class:`peerlane.errors.PeerlaneError` subclasses for expected failures."""

    async def start(self) -> None:
        """Connect and bring the schema up to date (run migrations)."""

    async def close(self) -> None: ...

    async def ready(self) -> bool:
        """True if the database answers and every migration is applied."""

    # -- server metadata --

    async def get_or_set_meta(self, key: str, value: str) -> str:
        """Return the stored value for ``key``; store ``value`` first if there is none.
        Safe when several instances race: all get the one value that won."""

    # -- rooms --

    async def create_room(self, room: Room, owner: Participant, invite: Invite) -> Invite:
        """Create a room with its owner and first invite, atomically. Returns the invite
        with its allocated nameplate (the smallest free one)."""

    async def get_room(self, room_id: str) -> Room | None: ...

    async def set_retention(self, room_id: str, retention: Retention) -> Room:
        """Raise NotFoundError(ROOM_NOT_FOUND) if there is no such room."""

    async def rename_room(self, room_id: str, name: str) -> Room:
        """Raise NotFoundError(ROOM_NOT_FOUND) if there is no such room."""

    async def move_room(self, room_id: str, now: float, key_id: str) -> Room:
        """Mark the room moved to the encrypted room whose key has ``key_id`` (read-only:
        appends raise ConflictError(ROOM_MOVED)); the first move stays. Raise
        NotFoundError(ROOM_NOT_FOUND) if there is no such room."""

    async def delete_room(self, room_id: str) -> bool:
        """Delete the room with its messages, invites, participants and file rows (the
        files' bytes are removed by the next cleanup)."""

    async def count_rooms(self) -> int: ...

    # -- participants --

    async def redeem_invite(
        self, invite_id: str, participant: Participant, *, now: float, max_participants: int
    ) -> Participant:
        """Use one invite and add ``participant``, atomically. Raises GoneError with the
        reason (revoked / expired / exhausted) or LimitError(ROOM_FULL); two concurrent
        redemptions never exceed ``max_uses``."""

    async def get_participant(self, participant_id: str) -> Participant | None: ...

    async def list_participants(self, room_id: str) -> list[Participant]: ...

    async def set_last_read(self, participant_id: str, seq: int) -> None:
        """Raise the read position; never lowers it."""

    # -- invites --

    async def create_invite(self, invite: Invite) -> Invite:
        """Store ``invite`` with the smallest free nameplate (its own is ignored)."""

    async def get_invite(self, invite_id: str) -> Invite | None: ...

    async def get_invite_by_token_hash(self, token_hash: str) -> Invite | None: ...

    async def get_invite_by_nameplate(self, nameplate: int) -> Invite | None: ...

    async def list_invites(self, room_id: str) -> list[Invite]: ...

    async def update_invite(
        self,
        invite_id: str,
        *,
        expires_at: float | None = None,
        max_uses: int | None = None,
        clear_max_uses: bool = False,
        revoked_at: float | None = None,
        sealed_code: str | None = None,
    ) -> Invite:
        """Change the given fields only. Raise NotFoundError(INVITE_NOT_FOUND)."""

    async def record_code_failure(self, invite_id: str, *, max_failures: int) -> Invite:
        """Count a wrong guess; at ``max_failures`` retire the code (nameplate → None)."""

    async def refund_code_failure(self, invite_id: str) -> None:
        """Take back one counted guess (a join by code that turned out right), never
        below zero; a code already retired stays retired."""

    # -- sessions --

    async def create_session(self, session: SessionRecord) -> None:
        """Store a new session of an existing participant."""

    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    async def renew_session(self, session_id: str, *, expires_at: float, now: float) -> bool:
        """Push a live session's idle expiry out to ``expires_at`` (never back); False if
        the session is gone, revoked or already expired at ``now``."""

    async def revoke_session(self, session_id: str, *, now: float) -> bool:
        """Sign the session out; False if there was no such live session."""

    async def live_sessions(self, participant_id: str, *, now: float) -> int:
        """How many of the participant's sessions are live (neither revoked nor expired)."""

    async def set_identity_key(self, participant_id: str, key: str) -> Participant | None:
        """Publish (or replace) the participant's identity public key; None if gone."""

    async def set_history(self, room_id: str, history: HistorySetting) -> Room:
        """What new members of the room can read: "all" history, or from "joined" on."""

    async def store_wraps(
        self,
        room_id: str,
        sender_id: str,
        sender_key: str,
        wraps: Sequence[tuple[str, int, str]],
        *,
        rotate_to: int | None,
        now: float,
    ) -> int:
        """Store room keys wrapped by ``sender_id`` as (recipient, epoch, wrap), with
        ``rotate_to`` first moving the room to that epoch (the next one, or
        ConflictError KEY_EPOCH_CONFLICT); the room's epoch after. See storage.keys."""

    async def wraps_for(self, participant_id: str) -> list[KeyWrap]:
        """The wraps addressed to the participant, by epoch."""

    async def wrapped_epochs(self, room_id: str) -> dict[str, set[int]]:
        """Per participant of the room, the epochs some member has wrapped to it."""

    async def remove_participant(self, room_id: str, participant_id: str) -> Participant | None:
        """Delete the participant (and so its sessions) from the room, marking the room's
        current key epoch as known to someone gone (``Room.left_epoch``); the removed
        participant, or None if it was not in the room. Its messages stay."""

    # -- messages --

    async def append_message(
        self,
        *,
        room_id: str,
        client_id: str,
        sender_id: str,
        sender_name: str,
        kind: MessageKind,
        ref: int | None,
        body: str,
        now: float,
    ) -> tuple[StoredMessage, bool]:
        """Store a message with the room's next seq (gap-free, increasing) and ``now`` as
        its timestamp; also marks the room active. If ``(room_id, sender_id, client_id)``
        exists, return that message and True (idempotent resend), else the new one and
        False. Raise NotFoundError(ROOM_NOT_FOUND) if the room is gone."""

    async def messages_after(self, room_id: str, after: int, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` messages with seq > ``after``, ascending."""

    async def messages_before(self, room_id: str, before: int, limit: int) -> list[StoredMessage]:
        """The ``limit`` newest messages with seq < ``before``, ascending."""

    async def stored_ids(
        self, room_id: str, sender_id: str, client_ids: Collection[str]
    ) -> list[StoredId]:
        """Those of ``client_ids`` that ``sender_id`` has stored in the room, with their
        seq and time (in no particular order). Callers bound ``client_ids`` (at most
        ``protocol.MAX_STORED_IDS``): it is one indexed lookup of the unique key."""

    # -- retention --

    async def touch_rooms(self, room_ids: Collection[str], *, now: float) -> None:
        """Mark these rooms active now (someone is connected: chat that goes peer to
        peer never reaches the server, and must not let the room expire as idle)."""

    async def cleanup(self, *, now: float, invite_grace: float) -> CleanupReport:
        """Apply every room's retention (max age, max count), delete rooms idle past their
        idle expiry, release the nameplates of invites dead for ``invite_grace``, and
        delete sessions expired (or signed out) for as long."""
