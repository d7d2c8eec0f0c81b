"""Upload policy: what an upload or a share may take, decided without I/O.

The limits an upload is checked against (quotas, the disk reserve), what a creation
costs against the daily allowances, whose budgets a creation spends, the words of a
refusal, and the bounds of a new share. The tus routes (``server/tus_api.py``,
``server/shares_api.py``) gather the inputs (settings, free space, limiter answers)
and act on the answers; the upload driver (``files/uploads.py``) enforces the quotas
while bytes arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

from peerlane.config import Settings
from peerlane.errors import ErrorCode, LimitError, ProtocolError
from peerlane.files.records import Quotas, StoredFile


def storage_quota(
    settings: Settings, *, stored_bytes: int | None, free_bytes: int | None
) -> int | None:
    """The storage quota in effect: ``storage_quota_bytes`` if set, else the files
    stored now plus ``storage_free_share`` of the free space above the reserve (None:
    the free space cannot be known, so no derived quota)."""
    if settings.storage_quota_bytes is not None:
        return settings.storage_quota_bytes
    if free_bytes is None or stored_bytes is None:
        return None
    spare = max(0, free_bytes - settings.storage_reserve_bytes)
    return stored_bytes + int(spare * settings.storage_free_share)


def upload_quotas(
    settings: Settings, *, room: bool, storage_quota: int | None, disk_free: int | None
) -> Quotas:
    """The limits an upload is checked against (a room's quota only for room files),
    with the free space measured by the caller just now."""
    return Quotas(
        room_bytes=settings.room_quota_bytes if room else None,
        storage_bytes=storage_quota,
        file_overhead=settings.file_overhead_bytes,
        reservation_ttl=settings.reservation_ttl,
        disk_free=disk_free,
        reserve=settings.storage_reserve_bytes,
    )


def creation_keys(ip: str, file: StoredFile) -> list[str]:
    """Whose upload-creation budget a new upload spends: its address's, and its
    sender's (room files) or its share's."""
    owner = f"p:{file.sender_id}" if file.room_id is not None else f"s:{file.share_id}"
    return [f"ip:{ip}", owner]


def creation_cost(settings: Settings, file: StoredFile) -> int:
    """What a new upload costs against the daily byte allowances, counted as the quotas
    count it: an empty file with big metadata is not free."""
    return file.length + len(file.upload_metadata) + settings.file_overhead_bytes


@dataclass(frozen=True, slots=True)
class Allowance:
    """One daily byte allowance a creation spends: ``kind`` names the limiter
    (``upload_bytes`` per address, ``share_bytes`` per share creator), ``key`` whose."""

    kind: str
    key: str


def allowances(ip: str, share_creator: str | None) -> list[Allowance]:
    """The allowances a creation spends: its address's, and for a share's file its
    creator's (so a share's uploaders cannot spend more than its creator could)."""
    spent = [Allowance("upload_bytes", ip)]
    if share_creator is not None:
        spent.append(Allowance("share_bytes", share_creator))
    return spent


def too_many_uploads(wait: float) -> LimitError:
    return LimitError(ErrorCode.TOO_MANY_UPLOADS, retry_after=wait)


def allowance_error(settings: Settings, wait: float, cost: int) -> LimitError:
    """The refusal of a creation past a daily allowance, in plain words: a file larger
    than a whole day's allowance never fits; otherwise, when to try again."""
    s = settings
    if cost > min(s.upload_bytes_per_ip_per_day, s.share_bytes_per_creator_per_day):
        return LimitError(
            ErrorCode.UPLOAD_ALLOWANCE_EXCEEDED,
            "This file is larger than one day's upload allowance of the server.",
        )
    hours = max(1, round(wait / 3600))
    return LimitError(
        ErrorCode.UPLOAD_ALLOWANCE_EXCEEDED,
        f"You have uploaded as much as one day allows; try again in about {hours} "
        f"hour{'s' if hours != 1 else ''}.",
        retry_after=wait,
    )


def share_bounds(settings: Settings, ttl: float | None, size: int | None) -> tuple[float, int]:
    """A new share's lifetime and size limit: as asked (or the defaults), within the
    server's maximums, else the error that says which is too much."""
    ttl = ttl or settings.share_ttl
    if ttl > settings.share_max_ttl:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            f"Invalid request: ttl: at most {settings.share_max_ttl:g} seconds.",
        )
    size = settings.share_quota_bytes if size is None else size
    if size > settings.share_quota_bytes:
        raise LimitError(
            ErrorCode.SHARE_QUOTA_EXCEEDED,
            f"A share holds at most {settings.share_quota_bytes} bytes.",
        )
    return ttl, size
