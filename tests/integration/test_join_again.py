"""Joining again from the same browser or client returns as the same participant
(issue #10, rough edge 2), and only with that browser's own live session: never by name
alone. Against a real server process."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from support import ServerProcess, create_room, link_token

MakeClient = Callable[[ServerProcess], httpx.Client]


def join_as(browser: httpx.Client, name: str, **how: str) -> dict:
    """POST /api/join as a browser does (a session cookie, from the page's origin)."""
    r = browser.post(
        "/api/join",
        json={"display_name": name, "session": "cookie", **how},
        headers={"origin": str(browser.base_url).rstrip("/")},
    )
    assert r.status_code == 200, r.text
    return r.json()


def participants(http: httpx.Client, owner_auth: dict[str, str], room_id: str) -> list[str]:
    r = http.get(f"/api/rooms/{room_id}/participants", headers=owner_auth)
    assert r.status_code == 200, r.text
    return sorted(p["name"] for p in r.json()["participants"])


def test_same_browser_and_name_return_as_the_same_participant(
    server: ServerProcess, http: httpx.Client, client: MakeClient
):
    alice = create_room(http, "alice")
    code = alice.body["invite"]["code"]
    browser = client(server)
    first = join_as(browser, "Gina", code=code)
    gina = first["participant"]["id"]
    assert first["returned"] is False
    again = join_as(browser, "Gina", code=code)
    assert (again["participant"]["id"], again["returned"]) == (gina, True)
    # Again by code, then by the link, then by code with the name cased differently.
    assert join_as(browser, "Gina", code=code)["participant"]["id"] == gina
    assert join_as(browser, "Gina", token=link_token(alice))["participant"]["id"] == gina
    assert join_as(browser, "gina", code=code)["participant"]["id"] == gina
    assert participants(http, alice.auth, alice.room_id) == ["Gina", "alice"]
    # The returning browser holds a working session for the room.
    r = browser.get(f"/api/rooms/{alice.room_id}")
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["id"] == gina

    # A different name from the same browser: a new person.
    assert join_as(browser, "Hal", code=code)["participant"]["id"] != gina


def test_a_name_alone_finds_nobody(server: ServerProcess, http: httpx.Client, client: MakeClient):
    alice = create_room(http, "alice")
    code = alice.body["invite"]["code"]
    gina = join_as(client(server), "Gina", code=code)["participant"]["id"]
    # Another browser, same name: another participant.
    assert join_as(client(server), "Gina", code=code)["participant"]["id"] != gina
    # A forged or foreign cookie does not help either.
    other = client(server)
    other.cookies.set(f"peerlane_return_{alice.room_id}", "forged", path="/api/join")
    assert join_as(other, "Gina", code=code)["participant"]["id"] != gina
    assert participants(http, alice.auth, alice.room_id) == ["Gina", "Gina", "Gina", "alice"]


def test_the_cookie_counts_only_from_the_page_and_for_its_own_room(
    server: ServerProcess, http: httpx.Client, client: MakeClient
):
    alice = create_room(http, "alice")
    code = alice.body["invite"]["code"]
    browser = client(server)
    gina = join_as(browser, "Gina", code=code)["participant"]["id"]
    # From another site (cross-site request forgery): no return.
    r = browser.post(
        "/api/join",
        json={"display_name": "Gina", "session": "cookie", "code": code},
        headers={"origin": "https://evil.example"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["id"] != gina
    # The session of a room is no key to another room.
    zed = create_room(http, "zed")
    elsewhere = join_as(browser, "Gina", code=zed.body["invite"]["code"])
    assert elsewhere["room"]["id"] == zed.room_id
    assert elsewhere["participant"]["id"] != gina


def test_after_signing_out_joining_makes_a_new_participant(
    server: ServerProcess, http: httpx.Client, client: MakeClient
):
    alice = create_room(http, "alice")
    code = alice.body["invite"]["code"]
    browser = client(server)
    gina = join_as(browser, "Gina", code=code)["participant"]["id"]
    kept = dict(browser.cookies)  # a copy of the cookies, kept past the sign-out
    r = browser.delete(
        f"/api/rooms/{alice.room_id}/session",
        headers={"origin": str(browser.base_url).rstrip("/")},
    )
    assert r.status_code == 204, r.text
    assert f"peerlane_return_{alice.room_id}" not in browser.cookies  # cleared
    assert join_as(browser, "Gina", code=code)["participant"]["id"] != gina
    # Even a copy of the cookie kept from before: the session is over on the server.
    replay = client(server)
    replay.cookies.set(
        f"peerlane_return_{alice.room_id}",
        kept[f"peerlane_return_{alice.room_id}"],
        path="/api/join",
    )
    assert join_as(replay, "Gina", code=code)["participant"]["id"] != gina


def test_a_client_with_its_bearer_token_returns_too(server: ServerProcess, http: httpx.Client):
    alice = create_room(http, "alice")
    code = alice.body["invite"]["code"]
    r = http.post("/api/join", json={"display_name": "bot", "code": code})
    assert r.status_code == 200, r.text
    bot = r.json()
    auth = {"Authorization": f"Bearer {bot['token']}"}
    r = http.post("/api/join", json={"display_name": "bot", "code": code}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["id"] == bot["participant"]["id"]
    # Without it: a new participant, as before.
    r = http.post("/api/join", json={"display_name": "bot", "code": code})
    assert r.json()["participant"]["id"] != bot["participant"]["id"]


def test_a_revoked_invite_takes_nobody_back(server: ServerProcess, http: httpx.Client):
    # Returning spends no use of the invite, but it is still a join by that invite: once
    # the owner revoked it, a kept link or code brings nobody back (with a new session).
    alice = create_room(http, "alice")
    code = alice.body["invite"]["code"]
    r = http.post("/api/join", json={"display_name": "bot", "code": code})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    invite_id = alice.body["invite"]["id"]
    r = http.delete(f"/api/rooms/{alice.room_id}/invites/{invite_id}", headers=alice.auth)
    assert r.status_code in (200, 204), r.text
    r = http.post("/api/join", json={"display_name": "bot", "code": code}, headers=auth)
    assert r.status_code == 410, r.text
    assert r.json()["error"]["code"] == "invite_revoked"
