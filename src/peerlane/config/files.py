"""Uploaded files and share links: where they live, quotas, disk reserve, upload rates."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from peerlane.config._values import DAY, GIB


class FileOptions(BaseModel):
    """The files group of :class:`peerlane.config.Settings` (never used alone)."""

    files_dir: Path | None = Field(
        None,
        description="Directory for uploaded files (default: files/ in the data directory; "
        "a directory shared by every instance for scale-out).",
    )
    max_file_bytes: int = Field(
        10 * GIB, ge=0, description="Largest file accepted by upload, in bytes."
    )
    room_quota_bytes: int = Field(
        20 * GIB, ge=0, description="Bytes of files (finished or uploading) one room may hold."
    )
    share_quota_bytes: int = Field(
        GIB,
        ge=0,
        description="Bytes of files one share link may hold. Anyone can create a share, so "
        "this is small by default; raise it to allow large anonymous shares.",
    )
    storage_quota_bytes: int | None = Field(
        None,
        ge=0,
        description="Bytes of files the server holds in all (unset: the files stored at "
        "start plus storage-free-share of the disk space then free above the reserve).",
    )
    storage_free_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of the free disk space (above the reserve) at start that files "
        "may take when storage-quota-bytes is unset.",
    )
    storage_reserve_bytes: int = Field(
        GIB,
        ge=0,
        description="Disk space always kept free for the database and the system: uploads "
        "are refused (507) before they would touch it.",
    )
    file_overhead_bytes: int = Field(
        64 * 1024,
        ge=0,
        description="Bytes each file counts against every quota on top of its length and "
        "metadata (so empty files are not free).",
    )
    reservation_ttl: float = Field(
        300.0,
        gt=0,
        description="Seconds an unfinished upload keeps its quota reservation without "
        "progress; then only its stored bytes count (a later PATCH reserves again).",
    )
    upload_bytes_per_ip_per_day: int = Field(
        50 * GIB,
        ge=1,
        description="Bytes (declared length, metadata and file overhead) one IP address may "
        "start uploading per day.",
    )
    share_bytes_per_creator_per_day: int = Field(
        4 * GIB,
        ge=1,
        description="Bytes uploaded per day into the shares created from one IP address, "
        "whoever uploads them.",
    )
    uploads_per_hour: float = Field(
        1200.0,
        gt=0,
        description="Uploads one participant, one share and one IP address may each start "
        "per hour (sustained).",
    )
    upload_burst: float = Field(
        200.0, ge=1, description="Uploads one participant, share or IP may start at once."
    )
    upload_ttl: float = Field(
        DAY, gt=0, description="Seconds an unfinished upload is kept after its last write."
    )
    share_ttl: float = Field(DAY, gt=0, description="Default seconds until a share link expires.")
    share_max_ttl: float = Field(
        7 * DAY, gt=0, description="Longest lifetime a share link may ask for, in seconds."
    )
    shares_per_hour: float = Field(
        30.0, gt=0, description="Share links one IP address may create per hour."
    )
