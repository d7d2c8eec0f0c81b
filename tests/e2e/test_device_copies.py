"""What a device keeps of a room goes when the person is out of it for good (issue #16):
the kept view and history (device-rooms.js) and the unsent messages (the outbox,
store.js), in IndexedDB, after "Leave room", after the owner removes them, and after the
room is deleted. Another room's copies stay."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    create_room_ui,
    in_side_panel,
    invite_link,
    join_by_link_ui,
    send_ui,
    wait_js,
    wait_messages,
)

pytestmark = pytest.mark.browser

# What this device keeps of a room: its device-rooms entry (with how many messages) and
# its unsent messages.
DEVICE_COPY = """async (id) => {
  const {readRoom} = await import('/static/device-rooms.js');
  const {outboxList} = await import('/static/store.js');
  const kept = await readRoom(id);
  return {kept: kept ? kept.messages.length : null, outbox: (await outboxList(id)).length};
}"""
# An unsent message for a room, as the outbox keeps one written with no connection.
UNSENT = """async ([roomId, id]) => {
  const {outboxAdd} = await import('/static/store.js');
  await outboxAdd({id, room_id: roomId, hlc: '0000000000001-0000-x', sender: 'x',
    sender_name: 'x', kind: 'text', ref: null, body: 'not sent yet', created_at: 0});
}"""
OTHER_ROOM = "another-room-of-this-device"


def device_copy(page: Any, room_id: str) -> dict[str, int | None]:
    copy: dict[str, int | None] = page.evaluate(DEVICE_COPY, room_id)
    return copy


def keep_copies(page: Any, room_id: str, messages: int) -> None:
    """Wait until the device keeps the room's messages, and give it an unsent one (and
    one of another room, which must stay)."""
    wait_js(
        page,
        f"async (id) => ({DEVICE_COPY})(id).then((c) => c.kept === {messages})",
        room_id,
        what="the room's messages kept on the device",
    )
    page.evaluate(UNSENT, [room_id, "unsent-1"])
    page.evaluate(UNSENT, [OTHER_ROOM, "unsent-other"])
    assert device_copy(page, room_id) == {"kept": messages, "outbox": 1}


def wait_forgotten(page: Any, room_id: str, what: str) -> None:
    wait_js(
        page,
        f"async (id) => {{ const c = await ({DEVICE_COPY})(id);"
        " return c.kept === null && c.outbox === 0; }",
        room_id,
        timeout=20,
        what=what,
    )
    assert device_copy(page, OTHER_ROOM) == {"kept": None, "outbox": 1}  # not this room's


def test_leaving_a_room_removes_its_copies_from_the_device(server, browsers) -> None:
    alice = browsers.new("alice").page
    room_id = create_room_ui(alice, server.base, "alice", room_name="Picnic")
    send_ui(alice, "one")
    send_ui(alice, "two")
    wait_messages(alice, ["one", "two"])
    keep_copies(alice, room_id, 2)

    leave = in_side_panel(alice, alice.get_by_role("button", name="Leave room"))
    alice.once("dialog", lambda dialog: dialog.accept())
    leave.click()
    alice.wait_for_url(f"{server.base}/")
    wait_forgotten(alice, room_id, "the room's copies gone after leaving")
    expect(alice.locator("[data-testid=room-list] li")).to_have_count(0)


def test_removed_or_deleted_the_room_leaves_no_copy_on_the_device(server, browsers) -> None:
    alice, bob = browsers.new("alice").page, browsers.new("bob").page
    room_id = create_room_ui(alice, server.base, "alice", room_name="Book club")
    join_by_link_ui(bob, invite_link(alice), "bob")
    send_ui(bob, "hello")
    wait_messages(bob, ["hello"])
    wait_messages(alice, ["hello"])
    keep_copies(bob, room_id, 1)
    keep_copies(alice, room_id, 1)

    bob_id = wait_js(bob, "() => window.peerlane.room.me?.participant_id")
    removed = alice.evaluate(
        "async ([room, who]) => (await fetch(`/api/rooms/${room}/participants/${who}`,"
        " {method: 'DELETE'})).status",
        [room_id, bob_id],
    )
    assert removed == 204
    expect(bob.locator(".ended")).to_be_visible(timeout=15_000)
    wait_forgotten(bob, room_id, "the room's copies gone from the removed person's device")
    assert device_copy(alice, room_id)["kept"] == 1  # the owner still in it

    deleted = alice.evaluate(
        "async (room) => (await fetch(`/api/rooms/${room}`, {method: 'DELETE'})).status", room_id
    )
    assert deleted == 204
    wait_forgotten(alice, room_id, "the deleted room's copies gone from the owner's device")
