"""The upload policy without I/O (files/policy.py): quotas, budgets, allowances, bounds."""

from __future__ import annotations

import pytest

from peerlane.config import load_settings
from peerlane.errors import ErrorCode, LimitError, ProtocolError
from peerlane.files import policy
from peerlane.files.records import StoredFile

GIB = 1 << 30


def stored(room: str | None, share: str | None, length: int = 10) -> StoredFile:
    return StoredFile(
        id="f1", room_id=room, share_id=share, sender_id="p1" if room else None,
        recipient_id=None, name="a.txt", content_type="text/plain", length=length,
        offset=0, status="uploading", upload_metadata="name YS50eHQ=", created_at=0.0,
        expires_at=1.0,
    )  # fmt: skip


def test_the_storage_quota_is_configured_or_derived_from_the_free_space(tmp_path) -> None:
    derived = load_settings(data_dir=tmp_path, storage_reserve_bytes=GIB, storage_free_share=0.5)
    assert policy.storage_quota(derived, stored_bytes=100, free_bytes=3 * GIB) == 100 + GIB
    assert policy.storage_quota(derived, stored_bytes=100, free_bytes=GIB // 2) == 100
    assert policy.storage_quota(derived, stored_bytes=None, free_bytes=None) is None
    fixed = load_settings(data_dir=tmp_path, storage_quota_bytes=5 * GIB)
    assert policy.storage_quota(fixed, stored_bytes=None, free_bytes=None) == 5 * GIB


def test_quotas_count_a_room_quota_only_for_room_files(tmp_path) -> None:
    s = load_settings(data_dir=tmp_path)
    room = policy.upload_quotas(s, room=True, storage_quota=7, disk_free=9)
    share = policy.upload_quotas(s, room=False, storage_quota=7, disk_free=9)
    assert room.room_bytes == s.room_quota_bytes
    assert share.room_bytes is None
    assert (room.storage_bytes, room.disk_free, room.reserve) == (7, 9, s.storage_reserve_bytes)


def test_a_creation_spends_its_address_and_its_owners_budgets(tmp_path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert policy.creation_keys("1.2.3.4", stored("r1", None)) == ["ip:1.2.3.4", "p:p1"]
    assert policy.creation_keys("1.2.3.4", stored(None, "s1")) == ["ip:1.2.3.4", "s:s1"]
    cost = policy.creation_cost(s, stored("r1", None, length=10))
    assert cost == 10 + len("name YS50eHQ=") + s.file_overhead_bytes
    assert policy.allowances("ip", None) == [policy.Allowance("upload_bytes", "ip")]
    assert [a.kind for a in policy.allowances("ip", "c")] == ["upload_bytes", "share_bytes"]


def test_allowance_refusals_say_when_or_never(tmp_path) -> None:
    s = load_settings(data_dir=tmp_path)
    later = policy.allowance_error(s, 2 * 3600, 10)
    assert later.code is ErrorCode.UPLOAD_ALLOWANCE_EXCEEDED
    assert "about 2 hours" in later.message
    assert later.retry_after == 2 * 3600
    huge = s.upload_bytes_per_ip_per_day + 1
    never = policy.allowance_error(s, 60, huge)
    assert "larger than one day's upload allowance" in never.message
    assert never.retry_after is None


def test_share_bounds(tmp_path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert policy.share_bounds(s, None, None) == (s.share_ttl, s.share_quota_bytes)
    assert policy.share_bounds(s, 60.0, 5) == (60.0, 5)
    with pytest.raises(ProtocolError):
        policy.share_bounds(s, s.share_max_ttl + 1, None)
    with pytest.raises(LimitError) as refused:
        policy.share_bounds(s, None, s.share_quota_bytes + 1)
    assert refused.value.code is ErrorCode.SHARE_QUOTA_EXCEEDED
