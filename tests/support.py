"""Shared test helpers: a real peerlane server process on loopback, and clients for it.

The server runs as ``python -m peerlane serve`` in its own process with a temporary data
directory, so tests exercise exactly what operators run, including kill and restart.
Waiting is always for a condition (a port answering, a message arriving) with a deadline,
never a fixed sleep. ``PEERLANE_TEST_TIMEOUT`` scales every deadline on a slow machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

TIMEOUT = float(os.environ.get("PEERLANE_TEST_TIMEOUT", "10"))
ORIGIN_HEADER = "Origin"


def wait_until(
    condition: Callable[[], Any], timeout: float = TIMEOUT, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy (returned), or fail at the
    deadline. For state only visible by asking (a clock-driven expiry, a cleanup run)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout}s: {what or condition}")
        time.sleep(interval)


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """``response`` is exactly the error shape with ``status`` and ``code``; its message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str), body
    assert message, body
    return str(message)


# Ctrl-C's default action back before the command starts, as a shell gives it to what a
# person runs in the foreground: a test run started in the background (`make test &`, some
# CI runners) has SIGINT ignored, every child inherits that, and Python then never raises
# KeyboardInterrupt (a command would ignore the test's Ctrl-C, and the test wait in vain).
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def interruptible_python(*args: str) -> list[str]:
    """The command line of ``python ARGS`` that SIGINT interrupts, however this process
    was started."""
    return [sys.executable, "-S", "-c", _SIGINT_DEFAULT, sys.executable, *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # Another way to start it (an installed ``peerlane`` command) and the environment
    # it starts from (default: this process's, whose PYTHONPATH points at the checkout).
    command: list[str] | None = None
    base_env: dict[str, str] | None = None
    cwd: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, room_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/rooms/{room_id}/ws"

    def start(self) -> ServerProcess:
        env = {
            **(os.environ if self.base_env is None else self.base_env),
            "PEERLANE_DATA_DIR": str(self.data_dir),
            "PEERLANE_PORT": str(self.port),
            "PEERLANE_LOG_FORMAT": "json",
            **self.env,
        }
        self.log_path = self.data_dir / "server.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own copy open
            self.proc = subprocess.Popen(
                self.command or [sys.executable, "-m", "peerlane", "serve"],
                env=env,
                cwd=self.cwd,
                stdout=log,
                stderr=log,
            )
        try:
            self.wait_ready()
        except BaseException:
            # The fixture never gets this object: stop the server here, or it runs on,
            # orphaned, after the test run (on a loaded machine readiness can time out).
            self.kill()
            raise
        return self

    def wait_ready(self) -> None:
        # A server's start is only a bound: on a loaded 2-core machine importing the app
        # alone took 30 s (CI-like load 30), so it gets twice the other waits.
        deadline = time.monotonic() + 6 * TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling a port that is not yet bound: no event to wait for
        raise TimeoutError(f"server not ready:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=3 * TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()


@dataclass
class Member:
    """One participant's credentials, as returned by create or join."""

    room_id: str
    participant_id: str
    token: str
    body: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def create_room(http: httpx.Client, name: str = "alice", **extra: Any) -> Member:
    r = http.post("/api/rooms", json={"display_name": name, **extra})
    assert r.status_code == 201, r.text
    body = r.json()
    return Member(body["room"]["id"], body["participant"]["id"], body["token"], body)


def join(http: httpx.Client, name: str = "bob", **how: Any) -> Member:
    r = http.post("/api/join", json={"display_name": name, **how})
    assert r.status_code == 200, r.text
    body = r.json()
    return Member(body["room"]["id"], body["participant"]["id"], body["token"], body)


def link_token(member: Member) -> str:
    return str(member.body["invite"]["link"].split("#", 1)[1])


def open_socket(url: str, **options: Any) -> ClientConnection:
    """A connected WebSocket client that outlives a ``with`` block; close it when done.

    (websockets >= 17.1 warns when ``connect()`` is not used as a context manager unless
    ``legacy=True``, which older versions do not know; entering the connection works in
    every version.)"""
    options = {"open_timeout": TIMEOUT, "max_size": None, **options}
    return connect(url, **options).__enter__()


def close_code(ws: ClientConnection, timeout: float = TIMEOUT) -> int | None:
    """Read (and drop) messages until the server closes ``ws``; its close code, or None if
    the connection ended without a close frame (a killed server)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            ws.recv(timeout=max(0.0, deadline - time.monotonic()))
    except ConnectionClosed as exc:
        return None if exc.rcvd is None else exc.rcvd.code


class Peer:
    """A WebSocket client of one room, with helpers that wait for typed messages."""

    def __init__(
        self,
        server: ServerProcess,
        member: Member,
        last_seq: int | None = None,
        *,
        hello_in_url: bool = False,
        resume: str | None = None,
        **socket_options: Any,
    ):
        """hello_in_url: give the hello in the socket's URL (``?v=1&last_seq=N``), as the
        browser does, instead of sending a hello frame. socket_options: for
        ``websockets.sync.client.connect`` (e.g. ``max_queue=None``: a client that reads
        only now and then keeps answering pings)."""
        self.member = member
        hello: dict[str, Any] = {"type": "hello", "v": 1}
        if last_seq is not None:
            hello["last_seq"] = last_seq
        if resume is not None:  # the welcome's resume token of an earlier connection
            hello["resume"] = resume
        url = server.ws_url(member.room_id)
        if hello_in_url:
            url += "?" + "&".join(f"{k}={v}" for k, v in hello.items() if k != "type")
        self.ws: ClientConnection = open_socket(
            url, additional_headers=member.auth, **socket_options
        )
        self.inbox: list[dict[str, Any]] = []
        if not hello_in_url:
            self.send(hello)
        self.welcome = self.expect("welcome")
        self.synced = self.expect("synced")

    @property
    def peer_id(self) -> str:
        return str(self.welcome["peer_id"])

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = self.ws.recv(timeout=timeout)
        message: dict[str, Any] = json.loads(raw)
        return message

    def expect(self, kind: str, timeout: float = TIMEOUT, **match: Any) -> dict[str, Any]:
        """The next message of type ``kind`` matching ``match``; others are kept in inbox."""
        for i, message in enumerate(self.inbox):
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} {match}; inbox: {self.inbox[-5:]}")
            message = self.recv(left)
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message
            self.inbox.append(message)

    def messages(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        return [self.expect("message", timeout) for _ in range(count)]

    def chat(self, client_id: str, body: Any = "hi") -> dict[str, Any]:
        self.send({"type": "chat", "id": client_id, "body": body})
        return self.expect("ack", id=client_id)

    def assert_silent(self, window: float = 0.3) -> None:
        """Nothing arrives for ``window`` seconds (and nothing is waiting in the inbox)."""
        assert not self.inbox, self.inbox
        try:
            message = self.ws.recv(timeout=window)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message}")

    def close(self) -> None:
        self.ws.close()


def drain(peer: Peer) -> Iterator[dict[str, Any]]:
    yield from peer.inbox
    peer.inbox.clear()
