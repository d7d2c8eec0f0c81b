"""chat_fanout.py's servers under test: a real ``python -m peerlane serve`` (its room
created over HTTP, one participant per client) or the bare websockets baseline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]
from support import free_port  # noqa: E402

BASELINE = HERE / "_broadcast_baseline.py"


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)  # nothing to wait on until the port is bound
    raise TimeoutError(f"server did not listen on {port}:\n{log.read_text()}")


@dataclass
class Member:
    participant_id: str
    token: str


@dataclass
class Server:
    """A server process under test, and the room its clients join."""

    kind: str  # "peerlane" or "baseline"
    workdir: Path
    clients: int
    settings: dict[str, str] = field(default_factory=dict)  # extra PEERLANE_* variables
    env: dict[str, str] = field(default_factory=dict)  # e.g. another revision's PYTHONPATH
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    room_id: str = ""
    members: list[Member] = field(default_factory=list)
    pid: int = 0

    def start(self) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "server.log"
        with log.open("ab") as out:
            if self.kind == "peerlane":
                env = {
                    **os.environ,
                    "PEERLANE_DATA_DIR": str(self.workdir / "data"),
                    "PEERLANE_HOST": "127.0.0.1",
                    "PEERLANE_PORT": str(self.port),
                    "PEERLANE_LOG_LEVEL": "warning",
                    "PEERLANE_LOG_FORMAT": "json",
                    "PEERLANE_MAX_PARTICIPANTS": str(max(50, self.clients)),
                    # Every client comes from 127.0.0.1: lift the per-IP limits, and the
                    # per-connection rate so that the sweep's higher rates are accepted.
                    "PEERLANE_ROOMS_PER_HOUR": "100000",
                    "PEERLANE_JOINS_PER_MINUTE": "100000",
                    "PEERLANE_FAILED_JOINS_PER_HOUR": "100000",
                    "PEERLANE_MESSAGES_PER_SECOND": "100000",
                    "PEERLANE_MESSAGE_BURST": "100000",
                    "PEERLANE_PARTICIPANT_MESSAGES_PER_SECOND": "100000",
                    "PEERLANE_PARTICIPANT_MESSAGE_BURST": "100000",
                    "PEERLANE_IP_MESSAGES_PER_SECOND": "100000",
                    "PEERLANE_IP_MESSAGE_BURST": "100000",
                    "PEERLANE_IP_CONNECTS_PER_MINUTE": "100000",
                    **self.settings,
                    **self.env,
                }
                cmd = [sys.executable, "-m", "peerlane", "serve"]
            else:
                env = dict(os.environ)
                cmd = [sys.executable, str(BASELINE), str(self.port)]
                compression = self.settings.get("PEERLANE_WS_COMPRESSION", "false")
                if compression.lower() in ("1", "true", "yes", "on"):
                    cmd.append("--deflate")  # the same as peerlane's setting
            self.proc = subprocess.Popen(cmd, env=env, cwd=self.workdir, stdout=out, stderr=out)
            self.pid = self.proc.pid
        wait_port(self.port, self.proc, log)
        if self.kind == "peerlane":
            self._create_room()
        else:
            self.url = f"ws://127.0.0.1:{self.port}/"
            self.members = [Member(f"p{i}", "") for i in range(self.clients)]
        return self

    def _create_room(self) -> None:
        import httpx

        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as http:
            deadline = time.monotonic() + 30
            while http.get("/readyz").status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("peerlane never became ready")
                time.sleep(0.05)  # migrations running: poll the probe
            r = http.post("/api/rooms", json={"display_name": "c0", "name": "bench"})
            r.raise_for_status()
            body = r.json()
            room_id = body["room"]["id"]
            link_token = body["invite"]["link"].split("#", 1)[1]
            self.members = [Member(body["participant"]["id"], body["token"])]
            for i in range(1, self.clients):
                r = http.post("/api/join", json={"display_name": f"c{i}", "token": link_token})
                r.raise_for_status()
                joined = r.json()
                self.members.append(Member(joined["participant"]["id"], joined["token"]))
        self.room_id = room_id
        self.url = f"ws://127.0.0.1:{self.port}/api/rooms/{room_id}/ws"

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
