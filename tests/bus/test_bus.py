"""Fan-out, addressing, ordering, overflow and presence, on every bus back-end."""

from __future__ import annotations

import asyncio
from typing import Any

from peerlane.bus.memory import MemoryBus
from peerlane.bus.redis import RedisBus
from peerlane.core import protocol as p
from peerlane.core.peer_ids import PeerReplaced
from peerlane.core.session import RoomDeleted, RoomEvent

TIMEOUT = 5.0


def chat(seq: int) -> p.Message:
    return p.Message(seq=seq, id=f"m{seq}", sender="s", sender_name="S", ts=1.0, body={"n": seq})


def peer(peer_id: str) -> p.PeerInfo:
    return p.PeerInfo(peer_id=peer_id, participant_id="p" + peer_id, name=peer_id, role="member")


async def take(sub: Any, count: int) -> list[RoomEvent]:
    out: list[RoomEvent] = []

    async def run() -> None:
        async for event in sub:
            out.append(event)
            if len(out) == count:
                return

    await asyncio.wait_for(run(), TIMEOUT)
    return out


async def test_publish_reaches_every_subscriber_of_the_room_in_order(make_bus: Any) -> None:
    bus_a, bus_b = await make_bus(), await make_bus()
    async with (
        bus_a.subscribe("r1") as s1,
        bus_b.subscribe("r1") as s2,
        bus_b.subscribe("r2") as other,
    ):
        for seq in range(1, 51):
            await bus_a.publish(RoomEvent("r1", chat(seq)))
        await bus_a.publish(RoomEvent("r2", chat(99)))
        for sub in (s1, s2):
            events = await take(sub, 50)
            assert [e.message.seq for e in events] == list(range(1, 51))  # type: ignore[union-attr]
        (only,) = await take(other, 1)
        assert only.message.seq == 99  # type: ignore[union-attr]


async def test_addressing_and_event_text_survive_the_bus(make_bus: Any) -> None:
    bus = await make_bus()
    relay = p.SignalRelay(sender="a", kind="offer", data={"sdp": "v=0"})
    async with bus.subscribe("r") as sub:
        await bus.publish(RoomEvent("r", relay, to="b", exclude=None))
        await bus.publish(RoomEvent("r", RoomDeleted()))
        first, second = await take(sub, 2)
    assert first.to == "b"
    assert first.exclude is None
    assert first.message == relay
    assert first.text == p.dump(relay)
    assert isinstance(second.message, RoomDeleted)


async def test_a_slow_subscriber_overflows_instead_of_blocking(make_bus: Any) -> None:
    bus = await make_bus(queue_size=10)
    async with bus.subscribe("r") as slow, bus.subscribe("r") as fast:
        for seq in range(1, 31):
            await bus.publish(RoomEvent("r", chat(seq)))
        got = await take(fast, 10)  # the fast one drains as it goes in real use
        assert [e.message.seq for e in got] == list(range(1, 11))  # type: ignore[union-attr]

        async def drain() -> list[RoomEvent]:
            return [event async for event in slow]

        events = await asyncio.wait_for(drain(), TIMEOUT)
    assert slow.overflowed
    assert len(events) == 10  # what fit in the queue, then the iteration ended


async def test_a_listener_gets_queued_events_then_each_in_the_publishers_call(
    make_bus: Any,
) -> None:
    """listen(): what was queued first, in order, then every event as it is delivered,
    without a task in between; None once the subscription ends."""
    bus = await make_bus()
    got: list[int | None] = []

    def listener(event: RoomEvent | None) -> None:
        got.append(None if event is None else event.message.seq)  # type: ignore[union-attr]

    async with bus.subscribe("r") as sub:
        await bus.publish(RoomEvent("r", chat(1)))
        await bus.publish(RoomEvent("r", chat(2)))
        await wait_until(lambda: sub._queue.qsize() == 2)  # both queued (Redis: arrived)
        sub.listen(listener)
        assert got == [1, 2]
        await bus.publish(RoomEvent("r", chat(3)))
        await wait_until(lambda: len(got) == 3)
        if isinstance(bus, MemoryBus):
            await bus.publish(RoomEvent("r", chat(4)))
            assert got == [1, 2, 3, 4]  # in publish() itself: no wake-up of another task
        await bus.close()
        await wait_until(lambda: got[-1] is None)
    assert got[:3] == [1, 2, 3]
    assert not sub.overflowed


async def wait_until(condition: Any) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)  # a Redis round trip: no event to wait on

    await asyncio.wait_for(poll(), TIMEOUT)


async def test_presence_add_list_remove(make_bus: Any) -> None:
    bus_a, bus_b = await make_bus(), await make_bus()
    await bus_a.add_peer("r", peer("x"))
    await bus_b.add_peer("r", peer("y"))
    await bus_b.add_peer("other", peer("z"))
    assert {q.peer_id for q in await bus_a.peers("r")} == {"x", "y"}
    await bus_a.remove_peer("r", "x")
    assert [q.peer_id for q in await bus_b.peers("r")] == ["y"]
    assert await bus_a.peers("empty") == []


async def test_unsubscribed_rooms_get_nothing_and_resubscribe_works(make_bus: Any) -> None:
    bus = await make_bus()
    async with bus.subscribe("r"):
        pass
    await bus.publish(RoomEvent("r", chat(1)))  # nobody listening: dropped, no error
    async with bus.subscribe("r") as sub:
        await bus.publish(RoomEvent("r", chat(2)))
        (event,) = await take(sub, 1)
    assert event.message.seq == 2  # type: ignore[union-attr]


async def test_a_resumed_peer_id_is_listed_once_and_outlives_the_replaced_one(
    make_bus: Any,
) -> None:
    """A connection resumes its peer id (core.peer_ids) on another instance, or on the
    same one: the entry is listed once, the replaced connection's end (forget_peer)
    leaves it, and the newer connection's end removes it."""
    bus_a, bus_b = await make_bus(), await make_bus()
    for old_bus, new_bus in ((bus_a, bus_b), (bus_a, bus_a)):
        await old_bus.add_peer("r", peer("x"))
        await new_bus.add_peer("r", peer("x"))
        assert [q.peer_id for q in await bus_a.peers("r")] == ["x"]
        await old_bus.forget_peer("r", "x")
        assert [q.peer_id for q in await bus_b.peers("r")] == ["x"]
        await new_bus.remove_peer("r", "x")
        assert await bus_a.peers("r") == []
        assert all("r" not in getattr(bus, "_mine", {}) for bus in (bus_a, bus_b))


async def test_a_late_cleanup_leaves_the_entry_of_the_instance_the_peer_moved_to(
    redis_url: str,
) -> None:
    """A peer reconnects to another instance before the old instance has seen its old
    socket end (a dropped connection, not a replacement it was told of): the old
    instance's remove_peer comes after the new entry and must not take it away. (Two
    instances: Redis only; the in-process bus is one instance.)"""
    bus_a, bus_b = RedisBus(redis_url), RedisBus(redis_url)
    await bus_a.start()
    await bus_b.start()
    try:
        await _late_cleanup(bus_a, bus_b)
    finally:
        await bus_a.close()
        await bus_b.close()


async def _late_cleanup(bus_a: RedisBus, bus_b: RedisBus) -> None:
    await bus_a.add_peer("r", peer("x"))
    await bus_b.add_peer("r", peer("x"))
    await bus_a.remove_peer("r", "x")  # late: x is on b now
    assert [q.peer_id for q in await bus_a.peers("r")] == ["x"]
    await bus_b.remove_peer("r", "x")
    assert await bus_a.peers("r") == []


async def test_peer_replaced_survives_the_bus(make_bus: Any) -> None:
    bus = await make_bus()
    replaced = PeerReplaced(peer_id="x", participant_id="px", connection="c2")
    async with bus.subscribe("r") as sub:
        await bus.publish(RoomEvent("r", replaced))
        (event,) = await take(sub, 1)
    assert event.message == replaced
