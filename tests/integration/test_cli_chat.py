"""``peerlane chat`` against a real server: a WebSocket participant (the browser's
protocol, tests/support.Peer) on the other side; the CLI runs as a process, in a
pseudo-terminal when it is interactive."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest

from support import TIMEOUT, Peer, ServerProcess, create_room
from terminal import Terminal


@pytest.fixture
def terminals() -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def open_terminal(*args: str) -> Terminal:
        term = Terminal(args)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


def bodies(http: httpx.Client, member_auth: dict[str, str], room_id: str) -> list[str]:
    r = http.get(f"/api/rooms/{room_id}/messages", params={"limit": 200}, headers=member_auth)
    assert r.status_code == 200, r.text
    return [m["body"] for m in r.json()["messages"]]


def test_send_only_from_a_pipe_stores_each_line_once(start_server, client) -> None:
    server = start_server()
    http = client(server)
    alice = create_room(http)
    lines = "".join(f"line {i}\n" for i in range(20)) + "\n   \n"  # blank lines are not sent
    done = subprocess.run(
        [sys.executable, "-m", "peerlane", "chat", alice.body["invite"]["link"], "--send-only"],
        input=lines.encode(),
        capture_output=True,
        timeout=3 * TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""  # --send-only shows nothing but errors
    assert bodies(http, alice.auth, alice.room_id) == [f"line {i}" for i in range(20)]


def test_interactive_chat_both_ways_with_presence(start_server, client, terminals) -> None:
    server = start_server()
    http = client(server)
    alice = create_room(http)
    code = alice.body["invite"]["code"]
    ws = Peer(server, alice)
    term = terminals("chat", code, "--server", server.base, "--name", "bob")
    term.wait_for("as bob (here: alice)")
    ws.expect("presence", event="joined")

    ws.chat("a1", "hello from the browser")
    at = term.wait_for("] alice: hello from the browser")
    term.type("hello from the terminal\n")
    got = ws.expect("message", body="hello from the terminal")
    assert got["sender_name"] == "bob"
    term.wait_for("] bob: hello from the terminal", start=at)

    second = Peer(server, alice)  # alice opens a second tab
    term.wait_for("* alice joined")
    second.close()
    term.wait_for("* alice left")

    term.interrupt()  # Ctrl-C leaves cleanly
    assert term.wait_exit() == 130
    ws.expect("presence", event="left")
    assert "Traceback" not in term.output
    assert bodies(http, alice.auth, alice.room_id) == [
        "hello from the browser",
        "hello from the terminal",
    ]


def test_reconnect_replays_and_resends_exactly_once(start_server, client, terminals) -> None:
    server = start_server()
    http = client(server)
    alice = create_room(http)
    term = terminals("chat", alice.body["invite"]["link"], "--json", "--name", "bob")
    term.wait_for('"event": "synced"')
    ws = Peer(server, alice)
    ws.chat("a1", "before")
    term.wait_for('"body": "before"')
    ws.close()

    server.stop()  # the CLI loses its socket (1001) and keeps retrying
    term.type("typed while the server was down\n")
    server.start()
    at = term.wait_for('"again": true')
    ws = Peer(server, alice, last_seq=1)
    ws.chat("a2", "after")
    term.wait_for('"body": "after"', start=at)
    term.wait_for('"body": "typed while the server was down"')

    decode = json.JSONDecoder().raw_decode  # a typed line's echo may follow on the line
    events = [decode(line)[0] for line in term.output.splitlines() if line.startswith("{")]
    shown = [e["seq"] for e in events if e["event"] == "message"]
    assert shown == sorted(set(shown)) == list(range(1, len(shown) + 1)), shown
    assert sorted(bodies(http, alice.auth, alice.room_id)) == sorted(
        ["before", "after", "typed while the server was down"]
    )
    term.type("\x04")  # Ctrl-D: end of input, nothing pending → exits 0
    assert term.wait_exit() == 0


def test_wrong_code_and_unreachable_server_are_sentences(start_server, client) -> None:
    server: ServerProcess = start_server()

    def chat(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "peerlane", "chat", *args],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=3 * TIMEOUT,
            check=False,
        )

    wrong = chat("99-amber-falcon", "--server", server.base)
    assert wrong.returncode == 3
    assert wrong.stderr.decode().startswith("No invite matches that link or code")
    no_server = chat("1-amber-falcon")
    assert no_server.returncode == 2
    assert "--server" in no_server.stderr.decode()
    port = server.port
    server.stop()
    gone = chat("1-amber-falcon", "--server", f"http://127.0.0.1:{port}")
    assert gone.returncode == 4
    assert "cannot be reached" in gone.stderr.decode()
    for done in (wrong, no_server, gone):
        assert b"Traceback" not in done.stderr
