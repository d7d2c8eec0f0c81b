"""Fixtures: every store test runs on SQLite (a file in tmp_path) and on a real,
throwaway PostgreSQL server started once per session from Debian's binaries."""

from __future__ import annotations

import pytest

from peerlane.core.codes import random_words
from peerlane.core.invite_secrets import token_hash, words_hash
from peerlane.core.records import Invite, Participant, Retention, Room, new_id
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0
HOUR = 3600.0


class Make:
    """Builds records for tests; every call gets fresh ids."""

    def room(self, *, now: float = NOW, retention: Retention | None = None) -> Room:
        return Room(
            id=new_id(),
            name="Test room",
            owner_id=new_id(),
            created_at=now,
            last_active_at=now,
            last_seq=0,
            retention=retention or Retention(),
        )

    def owner(self, room: Room) -> Participant:
        return Participant(
            id=room.owner_id,
            room_id=room.id,
            name="Owner",
            role="owner",
            created_at=room.created_at,
        )

    def member(self, room_id: str, *, name: str = "Member", now: float = NOW) -> Participant:
        return Participant(id=new_id(), room_id=room_id, name=name, role="member", created_at=now)

    def invite(
        self,
        room: Room,
        *,
        now: float = NOW,
        ttl: float = HOUR,
        max_uses: int | None = None,
    ) -> Invite:
        return Invite(
            id=new_id(),
            room_id=room.id,
            token_hash=token_hash(new_id(24)),
            nameplate=None,
            words_hash=words_hash(b"k" * 32, "any", random_words()),
            created_by=room.owner_id,
            created_at=now,
            expires_at=now + ttl,
            max_uses=max_uses,
        )

    async def new_room(
        self,
        store: SqlStore,
        *,
        now: float = NOW,
        retention: Retention | None = None,
        max_uses: int | None = None,
    ) -> tuple[Room, Invite]:
        """A stored room with its owner and first invite."""
        room = self.room(now=now, retention=retention)
        invite = await store.create_room(
            room, self.owner(room), self.invite(room, now=now, max_uses=max_uses)
        )
        return room, invite


@pytest.fixture
def make() -> Make:
    return Make()
