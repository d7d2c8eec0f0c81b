"""Sessions that can be ended, in real browsers (issue #9, finding 7): the owner removes
someone from the People panel, and the removed browser says so in plain words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.helpers import create_room_ui, in_side_panel, invite_link, join_by_link_ui, room_ready

pytestmark = pytest.mark.browser


def test_the_owner_removes_a_participant_and_their_page_says_so(server, browsers) -> None:
    a, b = (browsers.new(n).page for n in ("alice", "bob"))
    room_id = create_room_ui(a, server.base, "alice", "Book club")
    assert join_by_link_ui(b, invite_link(a), "bob") == room_id
    room_ready(b)

    people = a.get_by_role("region", name="People in this room")
    remove = people.get_by_role("button", name="Remove bob")
    in_side_panel(a, remove)
    dialogs: list[str] = []

    def accept(dialog) -> None:  # the confirmation
        dialogs.append(dialog.message)
        dialog.accept()

    a.once("dialog", accept)
    remove.click()

    removed = "The room's owner removed you from this room."
    # Said once as an alert (the toast), and kept in place of the composer.
    expect(b.get_by_role("alert").filter(has_text=removed)).to_be_visible(timeout=15_000)
    expect(b.locator(".ended")).to_contain_text(removed)
    assert len(dialogs) == 1
    assert "Remove bob" in dialogs[0]
    expect(b.locator("#message-input")).to_be_hidden()
    expect(people.get_by_role("button", name="Remove bob")).to_have_count(0, timeout=15_000)
