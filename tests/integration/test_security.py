"""Authorization across rooms, response hardening, the error shape, size and rate limits,
against a real server process."""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from support import (
    TIMEOUT,
    Member,
    Peer,
    ServerProcess,
    assert_error,
    close_code,
    create_room,
    join,
    link_token,
    open_socket,
)

StartServer = Callable[..., ServerProcess]

# -- a server shared by the read-mostly tests of this module ---------------------------
# Every request these tests make is refused, and each test checks that nothing changed,
# so sharing one server keeps them independent while saving a start per case.


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"PEERLANE_ROOMS_PER_HOUR": "10000", "PEERLANE_JOINS_PER_MINUTE": "10000"}
    proc = ServerProcess(tmp_path_factory.mktemp("shared") / "data", env=env).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def shared_http(shared: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared.base, timeout=10) as c:
        yield c


TUS = {"Tus-Resumable": "1.0.0"}
OVERRIDDEN = {"GET": "HEAD", "POST": "PATCH"}


def tus_upload(http: httpx.Client, member: Member, data: bytes | None) -> str:
    """A tus upload in ``member``'s room; completed with ``data`` unless it is None.
    Returns its id (a completed upload's id is its file's id)."""
    name = base64.b64encode(b"note.txt").decode()
    r = http.post(
        f"/api/rooms/{member.room_id}/uploads",
        headers={**member.auth, **TUS, "Upload-Length": "5", "Upload-Metadata": f"name {name}"},
    )
    assert r.status_code == 201, r.text
    upload_id = r.headers["location"].rstrip("/").rsplit("/", 1)[1]
    if data is not None:
        r = http.patch(
            f"/api/rooms/{member.room_id}/uploads/{upload_id}",
            content=data,
            headers={
                **member.auth,
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert r.status_code == 204, r.text
    return upload_id


@dataclass
class TwoRooms:
    a_owner: Member
    a_member: Member
    b_owner: Member
    b_member: Member
    b_upload: str  # an unfinished upload in room B
    b_file: str  # a finished file in room B

    @property
    def b_invite(self) -> str:
        return str(self.b_owner.body["invite"]["id"])

    def snapshot_b(self, http: httpx.Client) -> dict[str, Any]:
        """Everything about room B that a leaked request could change."""
        base = f"/api/rooms/{self.b_owner.room_id}"
        auth = self.b_owner.auth
        room = http.get(base, headers=auth)
        assert room.status_code == 200, room.text
        return {
            "room": room.json()["room"],
            "invites": http.get(f"{base}/invites", headers=auth).json(),
            "participants": http.get(f"{base}/participants", headers=auth).json(),
            "messages": http.get(f"{base}/messages", headers=auth).json(),
            "member": http.get(base, headers=self.b_member.auth).status_code,
            "files": http.get(f"{base}/files", headers=auth).json(),
            "upload": http.head(
                f"{base}/uploads/{self.b_upload}", headers={**auth, **TUS}
            ).headers.get("upload-offset"),
        }


@pytest.fixture(scope="module")
def rooms(shared_http: httpx.Client) -> TwoRooms:
    a = create_room(shared_http, "alice")
    b = create_room(shared_http, "bella")
    return TwoRooms(
        a_owner=a,
        a_member=join(shared_http, "amos", token=link_token(a)),
        b_owner=b,
        b_member=join(shared_http, "bert", token=link_token(b)),
        b_upload=tus_upload(shared_http, b, None),
        b_file=tus_upload(shared_http, b, b"hello"),
    )


def forged(token: str, room_id: str) -> str:
    """``token`` with its room claim rewritten (the signature no longer matches)."""
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["r"] = room_id
    raw = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{version}.{raw.decode().rstrip('=')}.{signature}"


def headers_for(who: str, rooms: TwoRooms) -> dict[str, str]:
    if who == "a_owner":
        return rooms.a_owner.auth
    if who == "a_member":
        return rooms.a_member.auth
    if who == "forged":
        return {"Authorization": f"Bearer {forged(rooms.a_owner.token, rooms.b_owner.room_id)}"}
    return {}


# -- cross-room authorization ------------------------------------------------------------

# Every HTTP endpoint under /api/rooms/{room_id}.
ROOM_ENDPOINTS = [
    ("GET", "/api/rooms/{room}", None),
    ("PATCH", "/api/rooms/{room}", {"retention": {"max_messages": 1}}),
    ("DELETE", "/api/rooms/{room}", None),
    ("POST", "/api/rooms/{room}/move", {"key_id": "AAAAAAAAAAA"}),
    ("POST", "/api/rooms/{room}/session", None),
    ("DELETE", "/api/rooms/{room}/session", None),
    ("PUT", "/api/rooms/{room}/identity", {"key": "A" * 43}),
    ("GET", "/api/rooms/{room}/keys", None),
    ("POST", "/api/rooms/{room}/keys", {"wraps": []}),
    ("GET", "/api/rooms/{room}/participants", None),
    ("DELETE", "/api/rooms/{room}/participants/{participant}", None),
    ("GET", "/api/rooms/{room}/messages", None),
    ("GET", "/api/rooms/{room}/invites", None),
    ("POST", "/api/rooms/{room}/invites", {"ttl": 60}),
    ("PATCH", "/api/rooms/{room}/invites/{invite}", {"ttl": 1, "max_uses": 1}),
    ("DELETE", "/api/rooms/{room}/invites/{invite}", None),
    ("GET", "/api/rooms/{room}/invites/{invite}/qr.svg", None),
    ("POST", "/api/rooms/{room}/telemetry", {"client": "web"}),
    ("GET", "/api/rooms/{room}/files", None),
    ("GET", "/api/rooms/{room}/files/{file}", None),
    ("HEAD", "/api/rooms/{room}/files/{file}", None),
    ("DELETE", "/api/rooms/{room}/files/{file}", None),
    ("POST", "/api/rooms/{room}/uploads", None),
    ("OPTIONS", "/api/rooms/{room}/uploads", None),
    ("HEAD", "/api/rooms/{room}/uploads/{upload}", None),
    ("GET", "/api/rooms/{room}/uploads/{upload}", None),
    ("PATCH", "/api/rooms/{room}/uploads/{upload}", b"x"),
    ("POST", "/api/rooms/{room}/uploads/{upload}", b"x"),
    ("DELETE", "/api/rooms/{room}/uploads/{upload}", None),
    ("OPTIONS", "/api/rooms/{room}/uploads/{upload}", None),
]
ENDPOINT_IDS = [
    f"{method} {path.removeprefix('/api/rooms/')}" for method, path, _ in ROOM_ENDPOINTS
]
CALLERS = {
    "a_owner": (403, "forbidden"),  # a valid token, for another room
    "a_member": (403, "forbidden"),
    "forged": (401, "unauthorized"),  # another room's token with the room swapped in
    "anonymous": (401, "unauthorized"),
}


HTTP_METHODS = {"get", "head", "post", "put", "patch", "delete", "options"}


def test_the_matrix_covers_every_room_endpoint(shared_http: httpx.Client):
    """A new endpoint under /api/rooms/{room_id} must be added to ROOM_ENDPOINTS."""
    spec = shared_http.get("/api/openapi.json").json()
    served = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/rooms/{room_id}")
        for method in operations
        if method in HTTP_METHODS
    }
    table = {
        (
            method,
            template.replace("{room}", "{room_id}")
            .replace("{invite}", "{invite_id}")
            .replace("{file}", "{file_id}")
            .replace("{upload}", "{upload_id}")
            .replace("{participant}", "{participant_id}"),
        )
        for method, template, _ in ROOM_ENDPOINTS
    }
    assert served == table


@pytest.mark.parametrize("who", list(CALLERS))
@pytest.mark.parametrize(("method", "template", "body"), ROOM_ENDPOINTS, ids=ENDPOINT_IDS)
def test_room_endpoints_refuse_callers_from_elsewhere(
    shared_http: httpx.Client,
    rooms: TwoRooms,
    who: str,
    method: str,
    template: str,
    body: dict[str, Any] | bytes | None,
):
    before = rooms.snapshot_b(shared_http)
    r = request_room_b(shared_http, rooms, method, template, body, headers_for(who, rooms))
    status, code = CALLERS[who]
    if method == "OPTIONS":
        # tus capability discovery is public by design: server limits, nothing of the room.
        assert r.status_code == 204
        assert r.content == b""
        assert set(r.headers) >= {"tus-version", "tus-extension", "tus-max-size"}
    elif method == "HEAD":  # no body to hold the error shape
        assert r.status_code == status
    else:
        assert_error(r, status, code)
    assert rooms.snapshot_b(shared_http) == before


def request_room_b(
    http: httpx.Client,
    rooms: TwoRooms,
    method: str,
    template: str,
    body: dict[str, Any] | bytes | None,
    headers: dict[str, str],
) -> httpx.Response:
    """``template`` filled in with room B's ids; upload routes get well-formed tus
    headers, so only the authorization can refuse them."""
    path = template.format(
        room=rooms.b_owner.room_id,
        invite=rooms.b_invite,
        file=rooms.b_file,
        upload=rooms.b_upload,
        participant=rooms.b_member.participant_id,
    )
    if "/uploads" in template:
        headers = {**headers, **TUS, "Upload-Length": "5", "Upload-Offset": "0"}
        if "{upload}" in template and method in OVERRIDDEN:
            # Upload URLs take GET and POST only to carry a method override.
            headers["X-HTTP-Method-Override"] = OVERRIDDEN[method]
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/offset+octet-stream"
    if isinstance(body, bytes):
        return http.request(method, path, content=body, headers=headers)
    return http.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [endpoint for endpoint in ROOM_ENDPOINTS if "{invite}" in endpoint[1]],
    ids=[
        i
        for i, endpoint in zip(ENDPOINT_IDS, ROOM_ENDPOINTS, strict=True)
        if "{invite}" in endpoint[1]
    ],
)
def test_invites_of_another_room_are_not_found_under_ones_own(
    shared_http: httpx.Client,
    rooms: TwoRooms,
    method: str,
    template: str,
    body: dict[str, Any] | None,
):
    before = rooms.snapshot_b(shared_http)
    path = template.format(room=rooms.a_owner.room_id, invite=rooms.b_invite)
    r = shared_http.request(method, path, json=body, headers=rooms.a_owner.auth)
    assert_error(r, 404, "invite_not_found")
    assert rooms.snapshot_b(shared_http) == before


@pytest.mark.parametrize("who", list(CALLERS))
def test_websocket_of_another_room_is_refused(shared: ServerProcess, rooms: TwoRooms, who: str):
    url = shared.ws_url(rooms.b_owner.room_id)
    with open_socket(url, additional_headers=headers_for(who, rooms)) as ws:
        error = json.loads(ws.recv(timeout=TIMEOUT))
        assert error["type"] == "error"
        assert error["error"]["code"] == CALLERS[who][1]
        assert close_code(ws) == 4401


CLIENT_FRAMES: dict[str, Any] = {
    "hello": {"type": "hello", "v": 1, "last_seq": 0},
    "chat": {"type": "chat", "id": "leak-1", "body": "for room B?"},
    "reaction": {"type": "chat", "id": "leak-2", "kind": "reaction", "ref": 1, "body": "+1"},
    "signal": {"type": "signal", "to": "<B>", "kind": "offer", "data": {"sdp": "v=0"}},
    "signal-bye": {"type": "signal", "to": "<B>", "kind": "bye"},
    "sync": {"type": "sync", "after": 0},
    "typing": {"type": "typing", "active": True},
    "receipt": {"type": "receipt", "seq": 1},
    "ping": {"type": "ping", "nonce": "n"},
    "garbage": "{not json",
}


@pytest.mark.parametrize("kind", list(CLIENT_FRAMES))
def test_no_websocket_message_crosses_into_another_room(
    shared: ServerProcess, shared_http: httpx.Client, kind: str
):
    alice = create_room(shared_http, "alice")
    amos = join(shared_http, "amos", token=link_token(alice))
    bella = create_room(shared_http, "bella")
    pb = Peer(shared, bella)
    assert pb.chat("b-1")["seq"] == 1
    pb.expect("message", id="b-1")
    pa, pa2 = Peer(shared, alice), Peer(shared, amos)
    pa.expect("presence", event="joined")
    pb.assert_silent(0.1)

    frame = CLIENT_FRAMES[kind]
    if isinstance(frame, dict) and frame.get("to") == "<B>":
        frame = {**frame, "to": pb.peer_id}  # addressed straight at the other room's peer
    pa.send(frame)
    pa.send({"type": "ping", "nonce": "done"})
    pa.expect("pong", nonce="done")  # the frame was handled

    pb.assert_silent(0.3)
    # The action did take effect where it belongs (room A), or was refused.
    if kind in ("chat", "reaction"):
        assert pa2.expect("message")["id"] == frame["id"]
    elif kind == "typing":
        assert pa2.expect("typing")["peer_id"] == pa.peer_id
    elif kind.startswith("signal"):
        assert pa.expect("error")["error"]["code"] == "peer_not_found"
    r = shared_http.get(f"/api/rooms/{bella.room_id}/messages", headers=bella.auth)
    assert [m["id"] for m in r.json()["messages"]] == ["b-1"]
    for peer in (pa, pa2, pb):
        peer.close()


# -- hardening, error shape and limits ----------------------------------------------------


def check_security_headers(r: httpx.Response, *, tls: bool = False) -> None:
    csp = r.headers.get("content-security-policy", "")
    assert csp, (r.request.url, r.status_code)
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert ("strict-transport-security" in r.headers) is tls


def test_security_headers_on_every_response(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    room = f"/api/rooms/{alice.room_id}"
    responses = [
        http.post("/api/rooms", json={"display_name": "x"}),  # 201
        http.get(room, headers=alice.auth),  # 200
        http.get(alice.body["invite"]["qr_url"], headers=alice.auth),  # SVG
        http.get("/"),
        http.get("/join"),
        http.get(f"/r/{alice.room_id}"),
        http.get("/healthz"),
        http.get("/readyz"),
        http.get("/metrics"),
        http.get("/api/nope"),  # 404
        http.put("/api/rooms"),  # 405
        http.post("/api/rooms", json={}),  # 422
        http.get(room),  # 401
        http.post("/api/rooms", content=b"x" * 70_000),  # 413
        http.delete(f"{room}/session", headers=alice.auth),  # 204
    ]
    for r in responses:
        check_security_headers(r)
    assert {r.status_code for r in responses} >= {200, 201, 204, 401, 404, 405, 413, 422}


def test_every_error_has_the_one_shape(start_server: StartServer, client):
    server = start_server(rooms_per_hour=1)
    http = client(server)
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    room = f"/api/rooms/{alice.room_id}"
    revoked = http.post(f"{room}/invites", json={}, headers=alice.auth).json()
    http.delete(f"{room}/invites/{revoked['id']}", headers=alice.auth)

    cases = [
        (http.get("/api/nope"), 404, "not_found"),
        (http.get("/no/such/page"), 404, "not_found"),
        (http.put("/api/rooms"), 405, "bad_request"),
        (http.post("/healthz"), 405, "bad_request"),
        (http.post("/api/rooms", json={}), 422, "invalid_message"),
        (http.post("/api/rooms", json={"display_name": "x", "extra": 1}), 422, "invalid_message"),
        (http.post("/api/join", json={"display_name": "x"}), 422, "invalid_message"),
        (
            http.post(
                "/api/rooms", content=b"{broken", headers={"content-type": "application/json"}
            ),
            400,
            "invalid_json",
        ),
        (http.get(room), 401, "unauthorized"),
        (http.get(room, headers={"Authorization": "Basic abc"}), 401, "unauthorized"),
        (http.get(room, headers={"Authorization": "Bearer v1.x.y"}), 401, "unauthorized"),
        (http.delete(room, headers=bob.auth), 403, "not_owner"),
        (http.get(f"{room}/invites/nope/qr.svg", headers=bob.auth), 404, "invite_not_found"),
        (
            http.post(
                "/api/join", json={"display_name": "x", "token": revoked["link"].split("#")[1]}
            ),
            410,
            "invite_revoked",
        ),
        (http.post("/api/rooms", json={"display_name": "again"}), 429, "too_many_rooms"),
    ]
    for r, status, code in cases:
        assert_error(r, status, code)
        assert r.headers["content-type"].startswith("application/json")
    too_many = cases[-1][0]
    assert int(too_many.headers["retry-after"]) >= 1
    not_allowed = http.put("/api/rooms")
    assert not_allowed.headers["allow"] == "POST"  # RFC 9110: a 405 names what is allowed
    assert "Traceback" not in server.logs()


def test_oversized_input_is_refused_and_nothing_is_stored(start_server: StartServer, client):
    server = start_server(max_ws_message_bytes=2048, max_body_bytes=256, max_http_body_bytes=1024)
    http = client(server)
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.expect("presence", event="joined")

    pa.send({"type": "chat", "id": "big-frame", "body": "x" * 3000})
    assert pa.expect("error")["error"]["code"] == "message_too_large"
    pa.send({"type": "ping", "nonce": "1"})
    assert pa.expect("pong", nonce="1")
    pa.send({"type": "chat", "id": "big-body", "body": "é" * 200})  # 400 bytes in UTF-8
    error = pa.expect("error")
    assert (error["error"]["code"], error["ref"]) == ("body_too_large", "big-body")
    pa.send({"type": "ping", "nonce": "2"})
    assert pa.expect("pong", nonce="2")
    pb.assert_silent()

    room = f"/api/rooms/{alice.room_id}"
    assert http.get(f"{room}/messages", headers=alice.auth).json()["messages"] == []
    assert pa.chat("fits", "é" * 100)["seq"] == 1  # 200 bytes: within the limit

    big = json.dumps({"ttl": 60, "pad": "x" * 2000}).encode()
    headers = {**alice.auth, "content-type": "application/json"}
    r = http.post(f"{room}/invites", content=big, headers=headers)
    assert_error(r, 413, "message_too_large")
    # Without a Content-Length (chunked), the cap applies while reading.
    r = http.post(f"{room}/invites", content=iter([big[:600], big[600:]]), headers=headers)
    assert_error(r, 413, "message_too_large")
    assert len(http.get(f"{room}/invites", headers=alice.auth).json()["invites"]) == 1

    # Beyond the transport's hard cap (1 MiB here) the connection itself is closed (1009).
    # Only the frame's header is written: the server refuses on the declared length, and
    # writing the 2 MiB body into a socket the server is closing could break the pipe first.
    send_frame_header(pa.ws, length=2 << 20)
    assert close_code(pa.ws) == 1009
    assert [m["id"] for m in http.get(f"{room}/messages", headers=bob.auth).json()["messages"]] == [
        "fits"
    ]
    pb.close()


def test_behind_a_proxy_a_spoofed_forwarded_for_does_not_escape_the_limits(
    start_server: StartServer, client
):
    # --trust-proxy is one hop: the proxy (this test) appends the address it saw to
    # whatever the client sent; only that last entry counts, however the client varies
    # the entries before it.
    server = start_server(trust_proxy=True, rooms_per_hour=2)
    http = client(server)

    def create(spoofed: str, real: str) -> httpx.Response:
        headers = {"X-Forwarded-For": f"{spoofed}, {real}"}
        return http.post("/api/rooms", json={"display_name": "a"}, headers=headers)

    assert create("203.0.113.1", "198.51.100.9").status_code == 201
    assert create("203.0.113.2", "198.51.100.9").status_code == 201
    assert_error(create("203.0.113.3", "198.51.100.9"), 429, "too_many_rooms")
    # IPv6 clients count by their /64: another address in it is the same client.
    assert create("203.0.113.4", "2001:db8:7:7::1").status_code == 201
    assert create("203.0.113.5", "2001:db8:7:7:ffff::2").status_code == 201
    assert_error(create("203.0.113.6", "2001:db8:7:7::3"), 429, "too_many_rooms")
    # Another client behind the same proxy has its own budget.
    assert create("203.0.113.3", "198.51.100.10").status_code == 201


def send_frame_header(ws: Any, length: int) -> None:
    """Write the header of a masked text frame of ``length`` bytes (RFC 6455 §5.2)."""
    header = struct.pack("!BBQ", 0x81, 0x80 | 127, length) + os.urandom(4)
    ws.socket.sendall(header)


def test_http_rate_limits_on_rooms_and_joins(start_server: StartServer, client):
    server = start_server(rooms_per_hour=2, joins_per_minute=3)
    http = client(server)
    alice = create_room(http)
    create_room(http, "second")
    r = http.post("/api/rooms", json={"display_name": "third"})
    assert_error(r, 429, "too_many_rooms")
    assert int(r.headers["retry-after"]) >= 1

    for name in ("b", "c", "d"):
        join(http, name, token=link_token(alice))
    r = http.post("/api/join", json={"display_name": "e", "token": link_token(alice)})
    assert_error(r, 429, "too_many_attempts")
    assert int(r.headers["retry-after"]) >= 1
    # A client cannot pose as another address (no proxy is trusted by default).
    spoofed = {"X-Forwarded-For": "203.0.113.7"}
    r = http.post(
        "/api/join", json={"display_name": "f", "token": link_token(alice)}, headers=spoofed
    )
    assert_error(r, 429, "too_many_attempts")
    assert_error(
        http.post("/api/rooms", json={"display_name": "g"}, headers=spoofed), 429, "too_many_rooms"
    )
    # The limits are per address, not per server: the room itself still works.
    assert http.get(f"/api/rooms/{alice.room_id}", headers=alice.auth).status_code == 200
