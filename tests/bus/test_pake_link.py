"""The join-by-code link on both back-ends: in one process, and across instances on
Redis (two links on one Redis are two server instances)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from peerlane.bus.pake import MemberRef, MemoryPakeLink, PakeLink
from peerlane.bus.pake_redis import RedisPakeLink
from peerlane.bus.redis import RedisBus


class Inbox:
    """What reached one instance's handler."""

    def __init__(self) -> None:
        self.got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __call__(self, message: dict[str, Any]) -> None:
        self.got.put_nowait(message)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.got.get(), 10)


@pytest.fixture
async def make_links(make_bus):
    """Two links and their inboxes: on Redis, two instances (``ttl`` short so a dead
    instance's members expire quickly); in memory, the same one twice."""
    made: list[PakeLink] = []

    async def make(ttl: float = 30.0) -> tuple[PakeLink, PakeLink, Inbox, Inbox]:
        a, b = await make_bus(), await make_bus()
        if isinstance(a, RedisBus):
            assert isinstance(b, RedisBus)
            links: list[PakeLink] = [RedisPakeLink(a, ttl=ttl), RedisPakeLink(b, ttl=ttl)]
            inboxes = [Inbox(), Inbox()]
        else:
            one = MemoryPakeLink(a.instance)
            links, inboxes = [one, one], [Inbox()] * 2
        for link, inbox in zip(links, inboxes, strict=True):
            if link not in made:
                await link.start(inbox)
                made.append(link)
        return links[0], links[1], inboxes[0], inboxes[1]

    yield make
    for link in made:
        await link.close()


def ref(link: PakeLink, room: str, participant: str, connection: str) -> MemberRef:
    return MemberRef(room, participant, link.instance, connection)


async def test_members_on_either_instance_are_listed_oldest_first(make_links) -> None:
    one, two, _, _ = await make_links()
    alice, bob = ref(one, "r", "alice", "c1"), ref(two, "r", "bob", "c2")
    await one.add_member(alice)
    await two.add_member(bob)
    await two.add_member(ref(two, "other", "carol", "c3"))
    assert await one.members("r") == await two.members("r") == [alice, bob]
    assert await one.alive(bob)
    assert await two.alive(alice)
    await two.remove_member(bob)
    assert await one.members("r") == [alice]
    assert not await one.alive(bob)
    # Another connection with the same id elsewhere is not the member that was listed.
    assert not await two.alive(MemberRef("r", "alice", "elsewhere", "c1"))


async def test_a_message_reaches_the_instance_it_is_sent_to(make_links) -> None:
    one, two, inbox_one, inbox_two = await make_links()
    await one.send(two.instance, {"t": "to_member", "n": 1})
    await two.send(one.instance, {"t": "from_member", "n": 2})
    assert await inbox_two.next() == {"t": "to_member", "n": 1}
    assert await inbox_one.next() == {"t": "from_member", "n": 2}
    await one.send("no-such-instance", {"n": 3})  # nobody there: dropped
    await one.send(two.instance, {"n": 4})
    assert await inbox_two.next() == {"n": 4}


async def test_a_broadcast_reaches_every_instance(make_links) -> None:
    _one, two, inbox_one, inbox_two = await make_links()
    await two.broadcast({"t": "online", "n": 1})
    assert await inbox_one.next() == {"t": "online", "n": 1}
    if inbox_two is not inbox_one:
        assert await inbox_two.next() == {"t": "online", "n": 1}
    assert inbox_one.got.empty()
    assert inbox_two.got.empty()


async def test_the_members_of_an_instance_that_died_stop_being_alive(make_links) -> None:
    one, two, _, _ = await make_links(ttl=0.6)
    alice = ref(two, "r", "alice", "c1")
    await two.add_member(alice)
    if isinstance(two, MemoryPakeLink):
        assert one.check_interval is None  # one process: members leave only by removal
        assert await one.alive(alice)
        return
    assert one.check_interval == pytest.approx(0.2)
    assert isinstance(two, RedisPakeLink)
    # Its instance refreshes the entry past its first expiry...
    key = "peerlane:pake:members:r"
    first = json.loads(await two._bus.redis.hget(key, "c1"))["expires"]
    while json.loads(await two._bus.redis.hget(key, "c1"))["expires"] <= first + 0.6:
        await asyncio.sleep(0.05)  # a Redis round trip: no event to wait on
    assert await one.alive(alice)
    # ...then it dies without a word (no removal): the member expires within ttl.
    for task in two._tasks:
        task.cancel()
    while await one.alive(alice):
        await asyncio.sleep(0.05)  # polling Redis for an expiry: no event to wait on
    assert await one.members("r") == []
