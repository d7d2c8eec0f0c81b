"""Text a client sends that no id, name or secret can hold -- a NUL character, in a JSON
field, a tus metadata value or a URL path (``%00``) -- is refused with a 4xx, on SQLite and
on PostgreSQL (which cannot store a NUL in text at all: it was a 500 there)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services import PgServer, create_database
from support import Member, ServerProcess, assert_error, create_room, link_token

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def text_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {"PEERLANE_ROOMS_PER_HOUR": "10000", "PEERLANE_SHARES_PER_HOUR": "10000"}
    if request.param == "postgresql":
        pg: PgServer = request.getfixturevalue("pg_server")
        env["PEERLANE_DATABASE_URL"] = create_database(pg)
    data: Path = tmp_path_factory.mktemp("text") / "data"
    proc = ServerProcess(data, env=env).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def http(text_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=text_server.base, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def alice(http: httpx.Client) -> Member:
    return create_room(http)


def no_traceback(server: ServerProcess) -> None:
    logs = server.logs()
    assert "Traceback" not in logs, logs[-3000:]


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "a\u0000b"},
        {"display_name": "alice", "name": "room\u0000"},
    ],
)
def test_nul_in_a_new_room_is_422(text_server: ServerProcess, http: httpx.Client, body: dict):
    assert_error(http.post("/api/rooms", json=body), 422, "invalid_message")
    no_traceback(text_server)


@pytest.mark.parametrize("how", [{"token": "x\u0000y"}, {"code": "7-a\u0000-b"}])
def test_nul_in_a_join_is_422(text_server: ServerProcess, http: httpx.Client, how: dict):
    r = http.post("/api/join", json={"display_name": "bob", **how})
    assert_error(r, 422, "invalid_message")
    no_traceback(text_server)


def test_nul_in_a_room_rename_is_422(text_server: ServerProcess, http: httpx.Client, alice: Member):
    r = http.patch(f"/api/rooms/{alice.room_id}", json={"name": "\u0000"}, headers=alice.auth)
    assert_error(r, 422, "invalid_message")
    no_traceback(text_server)


@pytest.mark.parametrize("key", ["room", "share", "to"])  # (a name is cleaned instead)
def test_nul_in_tus_metadata_is_400(
    text_server: ServerProcess, http: httpx.Client, alice: Member, key: str
):
    meta = f"{key} {base64.b64encode(b'ab' + bytes(1) + b'cd').decode()}"
    if key == "to":
        meta += ",room " + base64.b64encode(alice.room_id.encode()).decode()
    r = http.post(
        "/api/files/uploads",
        headers={**TUS, **alice.auth, "Upload-Length": "3", "Upload-Metadata": meta},
    )
    assert_error(r, 400, "invalid_metadata")
    no_traceback(text_server)


@pytest.mark.parametrize(
    ("method", "path", "bearer"),
    [
        ("HEAD", "/api/files/uploads/%00", None),
        ("PATCH", "/api/files/uploads/a%00b", None),
        ("DELETE", "/api/shares/%00", "anything"),
        ("GET", "/api/shares/%00", None),
        ("GET", "/api/rooms/%00", None),
        ("GET", "/static/app.js%00", None),
    ],
)
def test_nul_in_a_path_is_404(
    text_server: ServerProcess, http: httpx.Client, method: str, path: str, bearer: str | None
):
    headers = {**TUS, **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    r = http.request(method, path, headers=headers)
    assert r.status_code == 404, (r.status_code, r.text)
    if method != "HEAD":
        assert_error(r, 404, r.json()["error"]["code"])
    no_traceback(text_server)


def test_ordinary_text_still_works(http: httpx.Client, alice: Member):
    """The check refuses NUL only: names with other unusual characters are fine."""
    r = http.post("/api/join", json={"display_name": "bøb \u200f😀", "token": link_token(alice)})
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["name"] == "bøb \u200f😀"
