"""HTTP request and response bodies. Validation failures become ``invalid_message``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from peerlane.core import e2e


def _no_nul(text: str) -> str:
    """Text that is stored or looked up has no NUL: no name or secret has one, and
    PostgreSQL cannot hold one in a text column (it would be a 500, not a 422)."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


NoNul = AfterValidator(_no_nul)
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), NoNul
]
MAX_ROOM_NAME = 80


def _room_name(text: str) -> str:
    """A clear name of at most 80 characters, or an end-to-end encrypted room's sealed
    name (docs/protocol.md, "End-to-end encryption"), which is longer."""
    if len(text) > MAX_ROOM_NAME and not e2e.is_sealed_name(text):
        raise ValueError(f"at most {MAX_ROOM_NAME} characters (or a sealed name)")
    return text


RoomName = Annotated[
    str, StringConstraints(strip_whitespace=True), NoNul, AfterValidator(_room_name)
]
SessionKind = Literal["cookie", "bearer"]
Seconds = Annotated[float, Field(gt=0, le=365 * 86_400)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetentionIn(_In):
    max_age: Seconds | None = None
    max_messages: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    idle_expiry: Seconds | None = None


class CreateRoomIn(_In):
    display_name: DisplayName
    name: RoomName = ""
    session: SessionKind = "bearer"
    invite_ttl: Seconds | None = None
    invite_max_uses: Annotated[int, Field(ge=1, le=100_000)] | None = None


class JoinIn(_In):
    display_name: DisplayName
    token: Annotated[str, Field(min_length=1, max_length=200), NoNul] | None = None
    code: Annotated[str, Field(min_length=1, max_length=100), NoNul] | None = None
    session: SessionKind = "bearer"

    @model_validator(mode="after")
    def _one_of(self) -> JoinIn:
        if (self.token is None) == (self.code is None):
            raise ValueError("give exactly one of token (from the link) or code")
        return self


class UpdateRoomIn(_In):
    name: RoomName | None = None
    retention: RetentionIn | None = None
    # What members who join from now on can read (docs/protocol.md, "Key rotation").
    history: Literal["all", "joined"] | None = None


class MoveRoomIn(_In):
    """The encrypted room's key id (docs/protocol.md, "Moving a room to an encrypted one")."""

    key_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{11}$")]


class CreateInviteIn(_In):
    ttl: Seconds | None = None
    max_uses: Annotated[int, Field(ge=1, le=100_000)] | None = None


class UpdateInviteIn(_In):
    """Extend an invite: a new lifetime from now, and/or a new use limit; or, in an
    encrypted room, give its code's words sealed under the room key (opaque here)."""

    ttl: Seconds | None = None
    max_uses: Annotated[int, Field(ge=1, le=100_000)] | None = None
    unlimited_uses: bool = False
    # e2e1.<kid>.<nonce>.<ciphertext> of at most MAX_WORDS words (docs/protocol.md).
    sealed_code: (
        Annotated[
            str,
            Field(pattern=r"^e2e1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,200}$"),
        ]
        | None
    ) = None


class InviteOut(BaseModel):
    id: str
    link: str | None  # None: an invite from before hashed secrets (its link still works)
    code: str | None  # None in an encrypted room: the words are only in sealed_code
    nameplate: int | None = None  # the code's number; None once retired
    sealed_code: str | None = None  # an encrypted room's words, sealed by a member's browser
    expires_at: float
    max_uses: int | None
    uses: int
    status: Literal["live", "expired", "revoked", "exhausted"]
    qr_svg: str | None = None
    qr_url: str


class RoomOut(BaseModel):
    id: str
    name: str
    created_at: float
    latest_seq: int
    retention: RetentionIn
    url: str
    key_epoch: int = 0  # the newest room key's epoch (end-to-end encrypted rooms)
    history: Literal["all", "joined"] = "all"
    # When the owner moved the room to an end-to-end encrypted one (read-only since).
    moved_at: float | None = None
    moved_key_id: str | None = None


class ParticipantOut(BaseModel):
    id: str
    name: str
    role: Literal["owner", "member"]
    online: bool = False
    identity_key: str | None = None  # as the participant published it (opaque)


class SessionOut(BaseModel):
    room: RoomOut
    participant: ParticipantOut
    # As in GET /api/rooms/{id}: with it the room page starts without asking again.
    mesh_limit: int = Field(ge=0)
    token: str | None = None  # bearer sessions only; browsers get an HTTP-only cookie
    session_expires_at: float
    invite: InviteOut | None = None
    # The join found the caller's own earlier participant (same browser or client, same
    # name) and answered with it: no new participant was made.
    returned: bool = False


class MessagesOut(BaseModel):
    messages: list[dict[str, object]]
    has_more: bool


class InvitesOut(BaseModel):
    invites: list[InviteOut]


class ParticipantsOut(BaseModel):
    participants: list[ParticipantOut]
