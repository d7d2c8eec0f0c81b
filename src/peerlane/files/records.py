"""Plain records of files and shares, shared by the storage back-end and the server."""

from __future__ import annotations

from dataclasses import dataclass

from peerlane.core.tus import UploadState, UploadStatus


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An upload and, once complete, the file it became (one id for both).

    Exactly one of ``room_id`` and ``share_id`` is set. ``root`` is the integrity root
    the server computed when the last byte arrived; ``expected_root`` the one the sender
    declared, if any. A file is only ever served when ``status == "complete"``.
    """

    id: str
    room_id: str | None
    share_id: str | None
    sender_id: str | None  # the participant who uploads (room files)
    recipient_id: str | None  # the participant it is addressed to, if any
    name: str  # sanitized display name; never used as a path
    content_type: str  # as declared, normalized; may be served as octet-stream
    length: int
    offset: int
    status: UploadStatus
    upload_metadata: str  # the Upload-Metadata header as given, echoed on HEAD
    created_at: float
    expires_at: float | None  # unfinished uploads only
    expected_root: str | None = None
    root: str | None = None
    completed_at: float | None = None
    downloads: int = 0

    @property
    def state(self) -> UploadState:
        return UploadState(self.length, self.offset, self.expires_at, self.status)

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def verified(self) -> bool:
        """The sender declared a root and the bytes received match it."""
        return self.complete and self.expected_root is not None and self.root == self.expected_root

    def visible_to(self, participant_id: str) -> bool:
        """A file addressed to someone is seen only by its sender and that participant."""
        return self.recipient_id is None or participant_id in (self.sender_id, self.recipient_id)


@dataclass(frozen=True, slots=True)
class Share:
    """A share link: files uploaded once, downloaded later by whoever has the secret.

    Only hashes of the two secrets are stored: ``token_hash`` of the download secret in
    the link, ``manage_hash`` of the owner's token that adds files and deletes the share.
    """

    id: str
    token_hash: str
    manage_hash: str
    created_at: float
    expires_at: float
    max_downloads: int | None  # per file; None: unlimited
    size_limit: int  # total bytes of files the share may hold
    creator: str | None = None  # keyed hash of the creating address (daily allowance)


@dataclass(frozen=True, slots=True)
class Quotas:
    """The limits an upload's creation (or a lapsed upload's next PATCH) is checked
    against (None: no limit).

    A file counts ``file_overhead`` plus its metadata plus: its length once complete;
    while unfinished, the bytes stored and, unless its reservation lapsed (no progress
    for ``reservation_ttl`` seconds and no PATCH running), the rest of its length.
    ``disk_free`` is the free space measured just before; the reservations of unfinished
    uploads and the new file must leave ``reserve`` bytes of it free.
    """

    room_bytes: int | None = None
    storage_bytes: int | None = None
    file_overhead: int = 0
    reservation_ttl: float | None = None
    disk_free: int | None = None
    reserve: int = 0


@dataclass(frozen=True, slots=True)
class FilesCleanup:
    """What a cleanup run removed; ``blob_ids`` are the bytes the caller must delete."""

    uploads_expired: int = 0
    shares_expired: int = 0
    blob_ids: tuple[str, ...] = ()
