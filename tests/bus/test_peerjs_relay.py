"""The PeerJS relay on both back-ends: in one process, and across instances on Redis
(two relays on one Redis are two server instances)."""

from __future__ import annotations

import asyncio

import pytest

from peerlane.bus.peerjs import MemoryPeerjsRelay, PeerjsRelay
from peerlane.bus.peerjs_redis import RedisPeerjsRelay
from peerlane.bus.redis import RedisBus
from peerlane.core.peerjs import Claim, Frame, Kind, expire_frame

NOW = 1_000_000.0


class Sock:
    """A connected peer: what reached it, and whether it was replaced."""

    def __init__(self) -> None:
        self.got: asyncio.Queue[str] = asyncio.Queue()
        self.was_replaced = asyncio.Event()

    def deliver(self, text: str) -> None:
        self.got.put_nowait(text)

    def replaced(self) -> None:
        self.was_replaced.set()

    async def next(self) -> str:
        return await asyncio.wait_for(self.got.get(), 10)


def frame(kind: str, dst: str, text: str) -> Frame:
    return Frame(Kind.RELAY, kind, dst, text)


@pytest.fixture
async def make_relays(make_bus):
    """Two relays: on Redis, two instances; in memory, the same one twice."""
    made: list[PeerjsRelay] = []

    async def make() -> tuple[PeerjsRelay, PeerjsRelay]:
        a, b = await make_bus(), await make_bus()
        if isinstance(a, RedisBus):
            assert isinstance(b, RedisBus)
            relays: list[PeerjsRelay] = [RedisPeerjsRelay(a, queue_limit=3),
                                         RedisPeerjsRelay(b, queue_limit=3)]  # fmt: skip
        else:
            one = MemoryPeerjsRelay(queue_limit=3)
            relays = [one, one]
        for relay in relays:
            if relay not in made:
                await relay.start()
                made.append(relay)
        return relays[0], relays[1]

    yield make
    for relay in made:
        await relay.close()


async def test_a_frame_reaches_a_peer_on_either_instance(make_relays) -> None:
    one, two = await make_relays()
    alice, bob = Sock(), Sock()
    assert (await one.open("k", "alice", "t", alice, now=NOW, limit=10)).claim is Claim.NEW
    assert (await two.open("k", "bob", "t", bob, now=NOW, limit=10)).claim is Claim.NEW
    await one.relay("k", "alice", frame("OFFER", "bob", "to-bob"), now=NOW)
    await two.relay("k", "bob", frame("ANSWER", "alice", "to-alice"), now=NOW)
    await one.relay("k", "alice", frame("CANDIDATE", "alice", "to-self"), now=NOW)
    assert await bob.next() == "to-bob"
    # From two senders on two instances: both arrive, in no promised order.
    assert {await alice.next(), await alice.next()} == {"to-alice", "to-self"}
    assert sorted(await one.peer_ids("k", now=NOW)) == ["alice", "bob"]
    assert await two.peer_ids("other", now=NOW) == []
    assert await one.connected(now=NOW) == await two.connected(now=NOW) == 2


async def test_the_queue_of_an_absent_peer_is_shared(make_relays) -> None:
    one, two = await make_relays()
    await one.relay("k", "alice", frame("OFFER", "bob", "f1"), now=NOW)
    await one.relay("k", "alice", frame("LEAVE", "bob", "never"), now=NOW)  # not queued
    await two.relay("k", "carol", frame("CANDIDATE", "bob", "f2"), now=NOW)
    await one.relay("k", "alice", frame("CANDIDATE", "bob", "f3"), now=NOW)
    await one.relay("k", "alice", frame("CANDIDATE", "bob", "f4"), now=NOW)  # over the limit
    await one.relay("k2", "alice", frame("CANDIDATE", "bob", "other key"), now=NOW)
    opened = await two.open("k", "bob", "t", Sock(), now=NOW + 1, limit=10)
    assert opened.queued == ["f1", "f2", "f3"]
    again = await one.open("k", "bob", "t", Sock(), now=NOW + 1, limit=10)
    assert (again.claim, again.queued) == (Claim.AGAIN, [])


async def test_expired_queues_send_one_expire_per_sender_once(make_relays) -> None:
    one, two = await make_relays()
    alice, carol = Sock(), Sock()
    await one.open("k", "alice", "t", alice, now=NOW, limit=10)
    await two.open("k", "carol", "t", carol, now=NOW, limit=10)
    for src in ("alice", "carol", "alice"):
        await one.relay("k", src, frame("OFFER", "ghost", f"from {src}"), now=NOW)
    assert await one.expire(NOW + 4.9, 5.0) == 0
    # Both instances sweep; only one sends each EXPIRE.
    sent = await asyncio.gather(one.expire(NOW + 5, 5.0), two.expire(NOW + 5, 5.0))
    assert sum(sent) == 2
    assert await alice.next() == expire_frame("ghost", "alice")
    assert await carol.next() == expire_frame("ghost", "carol")
    assert (await one.open("k", "ghost", "t", Sock(), now=NOW + 6, limit=10)).queued == []


async def test_taken_again_and_full(make_relays) -> None:
    one, two = await make_relays()
    first, second = Sock(), Sock()
    assert (await one.open("k", "alice", "t1", first, now=NOW, limit=2)).claim is Claim.NEW
    assert (await two.open("k", "alice", "t2", Sock(), now=NOW, limit=2)).claim is Claim.TAKEN
    assert (await two.open("k", "bob", "t", Sock(), now=NOW, limit=2)).claim is Claim.NEW
    assert (await one.open("k", "carol", "t", Sock(), now=NOW, limit=2)).claim is Claim.FULL
    # A reconnect (same token) on the other instance takes the id over: the old socket
    # hears so, and frames go to the new one.
    assert (await two.open("k", "alice", "t1", second, now=NOW, limit=2)).claim is Claim.AGAIN
    await asyncio.wait_for(first.was_replaced.wait(), 10)
    await one.relay("k", "bob", frame("OFFER", "alice", "x"), now=NOW)
    assert await second.next() == "x"
    # The old socket closing does not free the id the new one holds.
    await one.leave("k", "alice", first)
    assert (await one.open("k", "alice", "t9", Sock(), now=NOW, limit=9)).claim is Claim.TAKEN
    await two.leave("k", "alice", second)
    assert (await one.open("k", "alice", "t9", Sock(), now=NOW, limit=9)).claim is Claim.NEW
