"""Fuzzing a real server: random and adversarial HTTP requests at every route and
WebSocket frames at the room socket. Whatever arrives, the server answers with a 4xx at
worst (never a 5xx, never an ``internal_error``), logs no traceback, and still works
afterwards: /healthz and a chat round trip in a new room (issue #9).

The routes come from the app itself (``app.routes``), so a new route is fuzzed without
touching this file; path parameters get real ids (so requests reach past authentication)
as often as junk. The generator is a seeded ``random.Random``: a failure names its seed
and request, and re-running with that seed repeats the run exactly.

    PEERLANE_FUZZ_SEED=7 PEERLANE_FUZZ_EXAMPLES=200 pytest tests/integration/test_fuzz.py

``PEERLANE_FUZZ_EXAMPLES`` is the number of requests per route and method (and of
WebSocket frame batches); the default keeps the test well under a minute on a 2-core
machine.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount, Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed, InvalidStatus

from peerlane.config import load_settings
from peerlane.server.app import create_app
from rawsocket import (
    OP_BINARY,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    close_frame,
    frame,
    http_status,
    open_raw,
    raw_http,
)
from services import create_database
from support import (
    TIMEOUT,
    Member,
    Peer,
    ServerProcess,
    create_room,
    join,
    link_token,
    open_socket,
)

SEED = int(os.environ.get("PEERLANE_FUZZ_SEED", "9"))
EXAMPLES = int(os.environ.get("PEERLANE_FUZZ_EXAMPLES", "20"))
TUS = "1.0.0"

# -- adversarial values --------------------------------------------------------------------

INTS = [0, 1, -1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30]
FLOATS = [0.5, -0.0, 1e-320, 1e308, -1e308, 86_400.0 * 365 * 1000]
STRINGS = [
    "",
    " ",
    "a" * 5000,
    "\u0000",
    "nul\u0000inside",
    "\ud800",  # a lone surrogate (json.dumps escapes it: valid JSON, not valid UTF-8)
    "ünïcødé 🚀 \u202e",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "%00%ff",
    "NaN",
    "Infinity",
    "-1",
    "99999999999999999999999",
    "null",
    "7-amber-falcon",
]
RAW_JSON_BODIES = [
    b"NaN",
    b"Infinity",
    b'{"max_downloads": NaN}',
    b'{"ttl": -Infinity}',
    b'{"display_name": "x", "invite_max_uses": 1e400}',
    b'{"max_downloads": ' + b"9" * 5000 + b"}",  # past Python's int-string digit limit
    b"[" * 20_000 + b"]" * 20_000,  # nesting past the parser's recursion limit
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b"\xff\xfe{}",
    b'{"display_name": "\xff\xfe"}',
    b'{"display_name": "\\ud800"}',
    b"{" + b'"k":1,' * 5000 + b'"k":2}',
    b"",
    b"   ",
    b"{",
    b"null",
]
KEYS = [
    "display_name",
    "name",
    "session",
    "invite_ttl",
    "invite_max_uses",
    "token",
    "code",
    "ttl",
    "max_uses",
    "unlimited_uses",
    "retention",
    "max_age",
    "max_messages",
    "idle_expiry",
    "max_downloads",
    "size",
    "type",
]
BAD_DATES = [
    "Mon, 01 Jan 10000 00:00:00 GMT",
    "Sat, 01 Jan 0000 00:00:00 GMT",
    "Mon, 01 Jan 99999999999999 00:00:00 GMT",
    "Mon, 99 Foo 2024 99:99:99 GMT",
    "Mon, 01 Jan 2024 00:00:00 +9999",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "yesterday",
    "",
]
RANGES = [
    "bytes=0-",
    "bytes=0-0",
    "bytes=-1",
    "bytes=-0",
    "bytes=5-1",
    "bytes=0-99999999999999999999",
    "bytes=9999999999999999999-",
    "bytes=0-1,2-3",
    "bytes=",
    "bytes=--1",
    "items=0-1",
    "bytes=1-2-3",
    "bytes=\u00b2-",
]
JUNK_IDS = [
    "x",
    "..",
    "%2e%2e",
    "%00",
    "%ff%fe",
    "a" * 1500,
    "😀",
    "x%20y",
    "qr.svg",
    "-1",
    "99999999999999999999",
    "%25",
]


def big_value(rng: random.Random) -> Any:
    return rng.choice(
        [rng.choice(INTS), rng.choice(FLOATS), rng.choice(STRINGS), True, None, [], {}]
    )


def json_value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value: scalars from the adversarial lists, objects with the API's
    field names (so validation is reached), arrays, now and then deep nesting."""
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return big_value(rng)
    if roll < 0.8:
        return {
            rng.choice(KEYS) if rng.random() < 0.85 else rng.choice(STRINGS)[:20]: json_value(
                rng, depth + 1
            )
            for _ in range(rng.randint(0, 5))
        }
    if roll < 0.95:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    nested: Any = rng.choice(INTS)
    for _ in range(rng.choice([50, 100, 300, 900])):
        nested = [nested] if rng.random() < 0.5 else {"a": nested}
    return nested


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- the world the requests act on ---------------------------------------------------------


@dataclass
class World:
    """Real ids and credentials, so that fuzzed requests reach past authentication."""

    server: ServerProcess
    alice: Member
    bob: Member
    ids: dict[str, list[str]] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)

    def tokens(self) -> list[str]:
        return [self.alice.token, self.bob.token]


def tus_headers(member: Member, **extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS, **member.auth, **extra}


def upload(http: httpx.Client, member: Member, data: bytes, **meta: str) -> str:
    encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    r = http.post(
        f"/api/rooms/{member.room_id}/uploads",
        headers=tus_headers(member, **{"Upload-Length": str(len(data))}, **{
            "Upload-Metadata": encoded
        }),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    r = http.patch(
        url,
        headers=tus_headers(
            member, **{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        ),
        content=data,
    )
    assert r.status_code == 204, r.text
    return url.rstrip("/").rsplit("/", 1)[1]


def make_world(server: ServerProcess) -> World:
    with httpx.Client(base_url=server.base, timeout=TIMEOUT) as http:
        alice = create_room(http, session="bearer")
        bob = join(http, "bob", token=link_token(alice))
        file_id = upload(http, alice, b"0123456789" * 100, name="a.txt")
        r = http.post("/api/shares", json={"max_downloads": 1000})
        assert r.status_code == 201, r.text
        share = r.json()
        share_token = share["link"].split("#", 1)[1]
        manage = {"Authorization": f"Bearer {share['manage_token']}"}
        r = http.post(
            "/api/files/uploads",
            headers={
                "Tus-Resumable": TUS,
                "Upload-Length": "5",
                "Upload-Metadata": "share " + base64.b64encode(share["id"].encode()).decode(),
                **manage,
            },
        )
        assert r.status_code == 201, r.text
        share_upload = r.headers["Location"].rsplit("/", 1)[1]
        r = http.post(
            "/api/files/uploads",
            headers=tus_headers(alice, **{"Upload-Length": "10"}, **{
                "Upload-Metadata": "room " + base64.b64encode(alice.room_id.encode()).decode()
            }),
        )  # fmt: skip
        assert r.status_code == 201, r.text
        open_upload = r.headers["Location"].rsplit("/", 1)[1]
        invites = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth).json()
        cookie_join = http.post(
            "/api/join",
            json={"display_name": "carol", "token": link_token(alice), "session": "cookie"},
        )
        assert cookie_join.status_code == 200, cookie_join.text
    world = World(server, alice, bob)
    world.ids = {
        "room_id": [alice.room_id],
        "invite_id": [inv["id"] for inv in invites["invites"]],
        "file_id": [file_id],
        "upload_id": [open_upload, share_upload, file_id],
        "token": [share_token],
        "share_id": [share["id"]],
    }
    world.cookies = [f"peerlane_session={c}" for c in cookie_join.cookies.values()]
    return world


# -- requests ------------------------------------------------------------------------------


@dataclass
class HttpRoute:
    path: str  # a template: /api/rooms/{room_id}
    methods: list[str]


def app_routes(tmp: Path) -> tuple[list[HttpRoute], list[str]]:
    """Every HTTP route (with its methods) and WebSocket route of the app, from the app's
    routes; included routers are walked into (FastAPI >= 0.16x keeps them as one entry).
    Checked against the OpenAPI paths, so that no API route can be missed silently."""
    app = create_app(load_settings(data_dir=tmp))
    http_routes: list[HttpRoute] = []
    ws_routes: list[str] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router
                context = getattr(route, "include_context", None)
                walk(route.original_router.routes, prefix + getattr(context, "prefix", ""))
            elif isinstance(route, APIWebSocketRoute | WebSocketRoute):
                ws_routes.append(prefix + route.path)
            elif isinstance(route, Mount):
                methods = ["GET", "HEAD", "POST"]
                http_routes.append(HttpRoute(prefix + route.path + "/{name}", methods))
            elif isinstance(route, APIRoute | Route):
                methods = sorted(route.methods or ["GET"])
                http_routes.append(HttpRoute(prefix + route.path, methods))

    walk(list(app.routes), "")
    found = {(r.path, m) for r in http_routes for m in r.methods}
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            assert (path, method.upper()) in found, f"route not found: {method} {path}"
    return http_routes, ws_routes


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def fill_path(rng: random.Random, template: str, world: World) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "name":  # a static file
            return rng.choice(["app.js", "ui/dom.js", "app.css", "../pyproject.toml", "x.js"])
        real = world.ids.get(name, [])
        if real and rng.random() < 0.7:
            return rng.choice(real)
        return rng.choice(JUNK_IDS)

    return _PARAM.sub(value, template)


def headers_for(rng: random.Random, world: World, method: str) -> dict[str, str]:
    h: dict[str, str] = {}
    roll = rng.random()
    if roll < 0.45:
        h["Authorization"] = f"Bearer {rng.choice(world.tokens())}"
    elif roll < 0.6:
        h["Authorization"] = rng.choice(
            [
                "Bearer garbage",
                "Bearer v1.e30.AAAA",
                "Basic YTpi",
                "Bearer " + "a" * 3000,
                "Bearer",
                f"Bearer {world.alice.token}x",
            ]
        )
    elif roll < 0.75 and world.cookies:
        h["Cookie"] = rng.choice(
            [*world.cookies, "peerlane_session=junk", "peerlane_session=", "=;;=; a", "a" * 4000]
        )
    if rng.random() < 0.3:
        h["Origin"] = rng.choice([world.server.base, "null", "http://evil.example", ""])
    if rng.random() < 0.4:
        h["Tus-Resumable"] = rng.choice([TUS, TUS, "0.2.2", ""])
    if rng.random() < 0.3:
        h["Upload-Length"] = str(rng.choice([*INTS, "1e3", "", "5 ", "0x10"]))
    if rng.random() < 0.3:
        h["Upload-Offset"] = str(rng.choice([*INTS, "", "abc"]))
    if rng.random() < 0.25:
        h["Upload-Metadata"] = rng.choice(
            [
                "name " + base64.b64encode(b"\xff\xfe").decode(),
                "room " + base64.b64encode(world.alice.room_id.encode()).decode(),
                "share " + base64.b64encode(world.ids["share_id"][0].encode()).decode(),
                "name !!!notbase64",
                "a,a",
                "k " + "A" * 9000,
                ",,,",
                "root " + base64.b64encode(b"x" * 64).decode(),
                "to " + base64.b64encode(b"nobody").decode(),
            ]
        )
    if rng.random() < 0.15:
        h["Upload-Checksum"] = rng.choice(["sha1 AAAA", "md5 xx", "sha256", "sha1 !!!"])
    if rng.random() < 0.15:
        h["X-HTTP-Method-Override"] = rng.choice(["PATCH", "DELETE", "HEAD", "FOO", ""])
    if rng.random() < 0.15:
        h["Upload-Defer-Length"] = "1"
    if rng.random() < 0.3:
        h["Range"] = rng.choice(RANGES)
    if rng.random() < 0.2:
        h["If-Range"] = rng.choice(['"x"', *BAD_DATES])
    if rng.random() < 0.3:
        h["If-Modified-Since"] = rng.choice(BAD_DATES)
    if rng.random() < 0.2:
        h["If-None-Match"] = rng.choice(["*", '"x"', "W/", ",,,", "a" * 3000])
    if rng.random() < 0.1:
        h["X-Forwarded-For"] = rng.choice(["1.2.3.4", "junk, ,", "::1", "a" * 500])
    if rng.random() < 0.1:
        h["Sec-Fetch-Site"] = rng.choice(["none", "cross-site", ""])
    if rng.random() < 0.05:
        h["X-Big"] = "b" * rng.choice([8000, 30_000])
    return h


def body_for(rng: random.Random, method: str) -> tuple[bytes | None, str | None]:
    if method in ("GET", "HEAD", "OPTIONS", "DELETE") and rng.random() < 0.7:
        return None, None
    roll = rng.random()
    if roll < 0.55:
        return dumps(json_value(rng)), "application/json"
    if roll < 0.8:
        return rng.choice(RAW_JSON_BODIES), "application/json"
    content_type = rng.choice(
        [
            "text/plain",
            "application/offset+octet-stream",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin-1",
            "garbage",
        ]
    )
    return rng.randbytes(rng.choice([0, 1, 10, 1000, 70_000])), content_type


def query_for(rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.6:
        return {}
    keys = ["before", "after", "limit", "v", "last_seq", "x"]
    return {
        rng.choice(keys): str(rng.choice([*INTS, *FLOATS, "", "abc", "1e3", "NaN", "\u00b2"]))
        for _ in range(rng.randint(1, 3))
    }


@dataclass
class Failure:
    what: str
    detail: str


class Fuzzer:
    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.failures: list[Failure] = []
        self.requests = 0

    def check_http(self, what: str, response: httpx.Response) -> None:
        self.requests += 1
        if response.status_code >= 500:
            self.failures.append(Failure(what, f"{response.status_code} {response.text[:300]}"))
            return
        json_error = response.status_code >= 400 and response.headers.get(
            "content-type", ""
        ).startswith("application/json")
        if not json_error or response.request.method == "HEAD":
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        if (
            not isinstance(body, dict)
            or set(body) != {"error"}
            or set(body["error"])
            != {
                "code",
                "message",
            }
        ):
            self.failures.append(Failure(what, f"not the error shape: {response.text[:300]}"))

    def http(self, client: httpx.Client, routes: list[HttpRoute]) -> None:
        rng = self.rng
        for route in routes:
            for method in route.methods:
                for _ in range(EXAMPLES):
                    used = method if rng.random() < 0.9 else rng.choice(["PUT", "TRACE", "FOO"])
                    path = fill_path(rng, route.path, self.world)
                    headers = headers_for(rng, self.world, used)
                    body, content_type = body_for(rng, used)
                    if content_type is not None and "Content-Type" not in headers:
                        headers["Content-Type"] = content_type
                    what = (
                        f"{used} {path[:200]} headers={list(headers)} body={(body or b'')[:80]!r}"
                    )
                    raw_headers = {k: v.encode("latin-1") for k, v in headers.items()}
                    try:
                        response = client.request(
                            used, path, headers=raw_headers, content=body, params=query_for(rng)
                        )
                    except httpx.LocalProtocolError:
                        continue  # httpx would not send it; the raw requests cover such
                    except httpx.TransportError as exc:
                        self.failures.append(Failure(what, f"transport error: {exc!r}"))
                        continue
                    self.check_http(what, response)

    def raw(self, routes: list[HttpRoute]) -> None:
        """What httpx will not send: bytes outside ASCII in the request line and in
        headers, bad Content-Length, broken chunked bodies, odd methods and versions."""
        rng, world = self.rng, self.world
        auth = f"Authorization: Bearer {world.alice.token}\r\n".encode()
        requests: list[bytes] = []
        for route in routes:
            path = fill_path(rng, route.path, world).encode()
            requests += [
                b"GET " + path + b"\xff\xfe HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
                b"GET " + path + b"%ff%fe%00 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
                b"GET "
                + path
                + b" HTTP/1.1\r\nHost: x\r\nX-Bad: \xff\xfe\x80\r\n"
                + auth
                + b"\r\n",
                b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
                b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nCookie: peerlane_session=\xff;\r\n\r\n",
                b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999"
                b"\r\nContent-Type: application/json\r\n" + auth + b"\r\n{}",
                b"POST "
                + path
                + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n"
                + auth
                + b"\r\n{}",
                b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: application/json\r\n" + auth + b"\r\nzz\r\n{}\r\n0\r\n\r\n",
                b"PATCH " + path + b" HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
                b"Upload-Offset: \xb2\r\nContent-Type: application/offset+octet-stream\r\n"
                b"Content-Length: 1\r\n" + auth + b"\r\nx",
                b"G\xffT " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET " + path + b" HTTP/9.9\r\nHost: x\r\n\r\n",
                b"GET " + path + b"\r\n\r\n",
            ]
        requests += [
            b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"h" * 200_000 + b"\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS hello
            b"\r\n\r\n\r\n",
            rng.randbytes(300),
        ]
        for request in requests:
            head = request.split(b"\r\n", 1)[0]
            request = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
            try:
                answer = raw_http(world.server.port, request, TIMEOUT)
            except OSError as exc:  # reset: the server refused the bytes outright
                answer = repr(exc).encode()
            self.requests += 1
            status = http_status(answer)
            if status is not None and status >= 500:
                self.failures.append(Failure(f"raw {head[:120]!r}", answer[:300].decode("latin-1")))

    def websocket(self, template: str) -> None:
        """Handshakes with bad credentials and URLs, then frame batches on good sockets."""
        rng, world = self.rng, self.world
        server = world.server
        for _ in range(EXAMPLES):
            path = fill_path(rng, template, world)
            query = query_for(rng)
            if template == PEERJS_SOCKET and rng.random() < 0.6:
                # Mostly a socket the endpoint accepts, so its frames are read at all.
                query = {"key": "peerjs", "id": f"p{rng.randrange(50)}", "token": "t"}
            url = f"ws://127.0.0.1:{server.port}{path}"
            if query:
                url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
            headers = headers_for(rng, world, "GET")
            headers.pop("X-Big", None)
            headers = {k: v for k, v in headers.items() if v.isascii()}
            try:
                with open_socket(url, additional_headers=headers) as ws:
                    message = {
                        PEERJS_SOCKET: self.peerjs_message,
                        JOIN_SOCKET: self.join_message,
                    }.get(template, self.ws_message)
                    for _ in range(rng.randint(0, 8)):
                        ws.send(message(rng))
                    self.drain(ws, f"ws {url[:150]}")
            except InvalidStatus as exc:
                if exc.response.status_code >= 500:
                    self.failures.append(Failure(f"ws {url}", str(exc.response.status_code)))
            except (ConnectionClosed, OSError, TimeoutError):
                pass
            self.requests += 1
        for _ in range(EXAMPLES):
            self.raw_frames(template)

    def ws_message(self, rng: random.Random) -> str | bytes:
        kinds = ["hello", "chat", "signal", "sync", "typing", "receipt", "ping"]
        kind = rng.choice([*kinds, "pake.reply", "pake.admit", "pake.reject"])
        message: dict[str, Any] = {"type": kind}
        pake = ["attempt", "share", "confirm", "handover"]
        fields = {
            "pake.reply": pake,
            "pake.admit": pake,
            "pake.reject": pake,
            "hello": ["v", "last_seq"],
            "chat": ["id", "body", "kind", "ref"],
            "signal": ["to", "kind", "data"],
            "sync": ["after"],
            "typing": ["active"],
            "receipt": ["seq"],
            "ping": ["nonce"],
        }[kind]
        for name in fields:
            if rng.random() < 0.8:
                message[name] = json_value(rng) if rng.random() < 0.5 else big_value(rng)
        roll = rng.random()
        if roll < 0.7:
            return json.dumps(message)
        if roll < 0.85:
            return rng.choice(RAW_JSON_BODIES).decode("utf-8", "replace")[:60_000]
        return rng.randbytes(rng.choice([0, 1, 100, 5000]))

    def peerjs_message(self, rng: random.Random) -> str | bytes:
        kind = rng.choice(["HEARTBEAT", "OFFER", "ANSWER", "CANDIDATE", "LEAVE", "EXPIRE", "X"])
        message: dict[str, Any] = {"type": kind}
        for name in ("dst", "payload", "src"):
            if rng.random() < 0.7:
                message[name] = f"p{rng.randrange(50)}" if rng.random() < 0.5 else json_value(rng)
        if rng.random() < 0.8:
            return json.dumps(message)
        return self.ws_message(rng)

    def join_message(self, rng: random.Random) -> str | bytes:
        """A frame for the join-by-code socket (docs/protocol.md, "Short codes by PAKE")."""
        kind = rng.choice(["pake.open", "pake.share", "pake.confirm", "pake.abort", "X"])
        message: dict[str, Any] = {"type": kind}
        for name in ("nameplate", "display_name", "share", "confirm"):
            if rng.random() < 0.7:
                message[name] = str(rng.randrange(100)) if rng.random() < 0.3 else json_value(rng)
        if rng.random() < 0.8:
            return json.dumps(message)
        return self.ws_message(rng)

    def drain(self, ws: Any, what: str) -> None:
        """Read what the server says until it is quiet or closes; no internal_error."""
        try:
            while True:
                text = ws.recv(timeout=0.3)
                if isinstance(text, str) and '"internal_error"' in text:
                    self.failures.append(Failure(what, text[:300]))
        except TimeoutError:
            pass
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            if code is None or code == 1011:
                self.failures.append(Failure(what, f"closed with {code}"))

    def raw_frames(self, template: str) -> None:
        """Frames no client library sends: invalid UTF-8 text, bad opcodes and reserved
        bits, broken fragmentation, a close in the same write."""
        rng, world = self.rng, self.world
        path = template.replace("{room_id}", world.alice.room_id)
        hello = frame(OP_TEXT, b'{"type":"hello","v":1}')
        choices = [
            frame(OP_TEXT, b"\xff\xfe"),
            frame(OP_TEXT, b'{"type":"ping","nonce":"\xed\xa0\x80"}'),
            frame(OP_TEXT, b'{"a":"', fin=False) + frame(OP_CONT, b'\xc3"}'),
            frame(OP_TEXT, b"\xff") + close_frame(1000),
            frame(OP_CONT, b"orphan"),
            frame(OP_BINARY, rng.randbytes(50)),
            frame(0x3, b"reserved opcode"),
            frame(OP_TEXT, b"{}", rsv=0x4),  # RSV1 with no extension agreed
            frame(OP_PING, b"p" * 200),  # control frame longer than 125 bytes
            close_frame(999),
            close_frame(1000, b"\xff"),
            frame(OP_TEXT, dumps({"type": "receipt", "seq": 2**64})),
            frame(OP_TEXT, dumps({"type": "sync", "after": -(2**63) - 1})),
            rng.randbytes(20),
        ]
        data = hello + b"".join(rng.choice(choices) for _ in range(rng.randint(1, 3)))
        try:
            raw = open_raw(world.server.port, path, world.alice.auth, timeout=TIMEOUT)
        except OSError as exc:
            self.failures.append(Failure("raw ws handshake", repr(exc)))
            return
        try:
            raw.send(data)
            code = raw.close_code(2.0)
        except OSError:
            code = None
        finally:
            raw.close()
        self.requests += 1
        if code == 1011:
            self.failures.append(Failure(f"raw ws frames {data[:120]!r}", "closed with 1011"))


# -- the test ------------------------------------------------------------------------------

PEERJS_SOCKET = "/peerjs/peerjs"  # the PeerJS endpoint's socket (docs/peerjs.md)
JOIN_SOCKET = "/api/join/ws"  # joining by code with CPace (docs/protocol.md)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    """The server under fuzzing, once per database: PostgreSQL refuses some text SQLite
    takes (a NUL), so a bad value can fail on one and not the other."""
    env = {
        "PEERLANE_ROOMS_PER_HOUR": "100000",
        "PEERLANE_JOINS_PER_MINUTE": "100000",
        "PEERLANE_SHARES_PER_HOUR": "100000",
        "PEERLANE_MESSAGES_PER_SECOND": "100000",
        "PEERLANE_MESSAGE_BURST": "100000",
    }
    if request.param == "postgresql":
        env["PEERLANE_DATABASE_URL"] = create_database(request.getfixturevalue("pg_server"))
    proc = ServerProcess(tmp_path / "data", env=env).start()
    yield proc
    proc.stop()


def test_fuzz_every_route_and_the_websocket(fuzz_server: ServerProcess, tmp_path: Path):
    http_routes, ws_routes = app_routes(tmp_path / "routes")
    assert any(r.path == "/api/shares" for r in http_routes), http_routes
    every_socket = sorted(["/api/rooms/{room_id}/ws", JOIN_SOCKET, PEERJS_SOCKET])
    assert sorted(ws_routes) == every_socket, ws_routes  # each one is fuzzed below
    world = make_world(fuzz_server)
    fuzzer = Fuzzer(world, SEED)
    with httpx.Client(base_url=fuzz_server.base, timeout=TIMEOUT) as client:
        # The two 500s first, as fixed cases.
        fuzzer.check_http(
            "share max_downloads 2**63",
            client.post("/api/shares", json={"max_downloads": 9223372036854775808}),
        )
        fuzzer.check_http(
            "static If-Modified-Since year 10000",
            client.get(
                "/static/app.js", headers={"If-Modified-Since": "Mon, 01 Jan 10000 00:00:00 GMT"}
            ),
        )
        fuzzer.http(client, http_routes)
    fuzzer.raw(http_routes)
    for template in ws_routes:
        fuzzer.websocket(template)

    problems = "\n".join(f"{f.what}\n    -> {f.detail}" for f in fuzzer.failures[:20])
    assert not fuzzer.failures, f"seed {SEED}: {len(fuzzer.failures)} failures\n{problems}"

    logs = fuzz_server.logs()
    assert "Traceback" not in logs, f"seed {SEED}:\n{logs[-4000:]}"
    assert "Fatal error" not in logs, f"seed {SEED}:\n{logs[-4000:]}"
    assert '"level": "error"' not in logs, f"seed {SEED}:\n{logs[-4000:]}"

    # Still healthy, and still a chat server: a new room, two people, a round trip.
    assert httpx.get(f"{fuzz_server.base}/healthz", timeout=TIMEOUT).status_code == 200
    assert httpx.get(f"{fuzz_server.base}/readyz", timeout=TIMEOUT).status_code == 200
    with httpx.Client(base_url=fuzz_server.base, timeout=TIMEOUT) as http:
        owner = create_room(http, "dora")
        guest = join(http, "eve", token=link_token(owner))
    a, b = Peer(fuzz_server, owner), Peer(fuzz_server, guest)
    try:
        a.chat("after-fuzz", {"still": "working"})
        assert b.expect("message", id="after-fuzz")["body"] == {"still": "working"}
    finally:
        a.close()
        b.close()
    assert fuzzer.requests > 100, fuzzer.requests


def test_fuzz_socket_helpers_see_a_close() -> None:
    """The raw helpers read a close code out of frames (the fuzzing relies on them)."""
    from rawsocket import _close_code

    server_close = b"\x88\x02\x03\xef"
    assert _close_code(b"\x81\x02hi" + server_close) == 1007
    assert _close_code(b"\x81\x02hi") is None
