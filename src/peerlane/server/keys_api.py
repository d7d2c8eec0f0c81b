"""End-to-end keys on the server (docs/protocol.md, "Identity keys and rotation on the
server"): a participant publishes its device's identity public key, and members hand
room keys to each other as wraps the server stores and hands out. The server checks the
form of what it keeps (lengths, alphabets, epochs) and never what it opens."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from peerlane.core.protocol import KeysRelay
from peerlane.core.session import RoomEvent
from peerlane.errors import ErrorCode, ForbiddenError, ProtocolError
from peerlane.server.api_deps import Svc, Who

router = APIRouter(prefix="/api")

# 32 bytes in base64url without padding: 43 characters, the last carrying 2 bits of
# padding that must be zero (so each key has exactly one spelling).
_KEY_PATTERN = r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]"
IdentityKey = Annotated[str, StringConstraints(pattern=f"^{_KEY_PATTERN}$")]
# w1.<epoch>.<ephemeral public key>.<12-byte nonce>.<32-byte key + 16-byte tag>
_WRAP_PATTERN = (
    rf"^w1\.(0|[1-9][0-9]{{0,9}})\.{_KEY_PATTERN}\.[A-Za-z0-9_-]{{16}}\.[A-Za-z0-9_-]{{64}}$"
)
Wrap = Annotated[str, StringConstraints(pattern=_WRAP_PATTERN)]
Epoch = Annotated[int, Field(ge=0, le=2**31 - 1)]
MAX_WRAPS = 1000  # a room's participants (at most a few hundred) times a few epochs


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityIn(_In):
    key: IdentityKey


class WrapIn(_In):
    to: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    epoch: Epoch
    wrap: Wrap

    @model_validator(mode="after")
    def _same_epoch(self) -> WrapIn:
        if int(self.wrap.split(".")[1]) != self.epoch:
            raise ValueError("the wrap's own epoch must be the epoch given")
        return self


class KeysIn(_In):
    """Wraps from the caller; ``rotate_to`` (the room's epoch + 1) starts a new epoch."""

    rotate_to: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    wraps: Annotated[list[WrapIn], Field(max_length=MAX_WRAPS)]


class WrapOut(BaseModel):
    epoch: int
    sender: str
    sender_key: str
    wrap: str


class NeedOut(BaseModel):
    participant_id: str
    identity_key: str
    epochs: list[int]


class KeysOut(BaseModel):
    epoch: int
    history: Literal["all", "joined"]
    wraps: list[WrapOut]
    needs: list[NeedOut]
    # The current epoch's key is known to someone who has since left or been removed:
    # the owner's client rotates (once: the new epoch clears it).
    rotate_due: bool = False


class IdentityOut(BaseModel):
    participant_id: str
    identity_key: str


@router.put("/rooms/{room_id}/identity")
async def publish_identity(body: IdentityIn, who: Who, svc: Svc) -> IdentityOut:
    """Publish (or replace) this participant's identity public key. Members see it in
    the participant list; a replaced key is what their clients warn about."""
    if who.participant.identity_key != body.key:
        await svc.store.set_identity_key(who.participant.id, body.key)
        await _announce(svc, who.room.id, who.participant.id, who.room.key_epoch)
    return IdentityOut(participant_id=who.participant.id, identity_key=body.key)


@router.get("/rooms/{room_id}/keys")
async def keys(who: Who, svc: Svc) -> KeysOut:
    """The room's key epoch and history setting, the wraps addressed to the caller, and
    which members still lack a wrap of an epoch they should hold (the owner's client
    fills those in: docs/protocol.md)."""
    room = who.room
    mine = await svc.store.wraps_for(who.participant.id)
    return KeysOut(
        epoch=room.key_epoch,
        history=room.history,
        wraps=[
            WrapOut(epoch=w.epoch, sender=w.sender_id, sender_key=w.sender_key, wrap=w.wrap)
            for w in mine
        ],
        needs=await _needs(svc, room.id, room.key_epoch, room.history, who.participant.id),
        rotate_due=room.left_epoch is not None and room.left_epoch >= room.key_epoch,
    )


async def _needs(svc: Svc, room_id: str, epoch: int, history: str, caller: str) -> list[NeedOut]:
    """Before any rotation everyone holds epoch 0 (from the invite link or the PAKE
    handover). After one, each other member with an identity key should hold the current
    epoch, and with "all" history every earlier one too (epoch 0 included: a member who
    joined by a link made after the rotation got only the current key)."""
    if epoch == 0:
        return []
    wanted = set(range(epoch + 1)) if history == "all" else {epoch}
    wrapped = await svc.store.wrapped_epochs(room_id)
    out = []
    for p in await svc.store.list_participants(room_id):
        if p.id == caller or p.identity_key is None:
            continue
        if missing := sorted(wanted - wrapped.get(p.id, set())):
            out.append(NeedOut(participant_id=p.id, identity_key=p.identity_key, epochs=missing))
    return out


@router.post("/rooms/{room_id}/keys")
async def post_keys(body: KeysIn, who: Who, svc: Svc) -> dict[str, int]:
    """Store wraps from the caller (whose identity key must be published: it is what
    recipients check the wraps against), starting a new epoch with ``rotate_to`` (the
    owner only)."""
    if body.rotate_to is not None and not who.is_owner:
        # The owner's client rotates (after its removal of someone): one rotator, so
        # members cannot bump the epoch, and the rows it leaves, without end.
        raise ForbiddenError(ErrorCode.NOT_OWNER, "Only the room's owner rotates its key.")
    sender_key = who.participant.identity_key
    if sender_key is None:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "Publish your identity key before wrapping keys."
        )
    wraps = [(w.to, w.epoch, w.wrap) for w in body.wraps]
    epoch = await svc.store.store_wraps(
        who.room.id,
        who.participant.id,
        sender_key,
        wraps,
        rotate_to=body.rotate_to,
        now=svc.clock(),
    )
    await _announce(svc, who.room.id, who.participant.id, epoch)
    return {"epoch": epoch}


async def _announce(svc: Svc, room_id: str, participant_id: str, epoch: int) -> None:
    """Tell the room's open sockets (every instance) to look again: the owner's client
    then wraps keys to a member who just published its key, and members fetch theirs."""
    relay = KeysRelay(participant_id=participant_id, epoch=epoch)
    await svc.bus.publish(RoomEvent(room_id, relay))
