"""``peerlane backup`` under load and ``peerlane restore`` into a new data directory.

A real server runs with a chat writer and a tus upload going while the backup is made;
a second server then starts on the restored data directory: every message acked before
the backup started is in the history, every file complete before it downloads with the
right bytes, and the upload that was still going is not there (its sender starts again).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from files.tusraw import Tus, file_id
from support import Peer, ServerProcess, create_room, wait_until

FAST = {  # the writer sends as fast as acks come back
    "PEERLANE_MESSAGES_PER_SECOND": "10000",
    "PEERLANE_MESSAGE_BURST": "10000",
    "PEERLANE_PARTICIPANT_MESSAGES_PER_SECOND": "10000",
    "PEERLANE_PARTICIPANT_MESSAGE_BURST": "10000",
    "PEERLANE_IP_MESSAGES_PER_SECOND": "10000",
    "PEERLANE_IP_MESSAGE_BURST": "10000",
}


def peerlane(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peerlane", *map(str, args)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def whole_history(http: httpx.Client, member: Any) -> dict[int, Any]:
    found: dict[int, Any] = {}
    after = 0
    while True:
        r = http.get(
            f"/api/rooms/{member.room_id}/messages",
            params={"after": after, "limit": 100},
            headers=member.auth,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        for message in body["messages"]:
            found[message["seq"]] = message["body"]
        if not body["has_more"]:
            return found
        after = max(found)


class ChatWriter(threading.Thread):
    """Sends chat messages one after the other; ``acked`` holds (seq, body) of each ack."""

    def __init__(self, peer: Peer) -> None:
        super().__init__(daemon=True)
        self.peer = peer
        self.acked: list[tuple[int, str]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                body = f"message {n}"
                ack = self.peer.chat(f"c{n}", body)
                self.acked.append((int(ack["seq"]), body))
        except BaseException as exc:
            self.error = exc


class SlowUpload(threading.Thread):
    """A tus upload sent in small pieces until stopped: unfinished during the backup."""

    def __init__(self, tus: Tus, url: str) -> None:
        super().__init__(daemon=True)
        self.tus, self.url = tus, url
        self.offset = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            r = self.tus.patch(self.url, os.urandom(4096), self.offset)
            assert r.status_code == 204, r.text
            self.offset += 4096


def test_backup_under_load_restores_history_and_files(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "live", env=FAST).start()
    http = httpx.Client(base_url=server.base, timeout=30)
    alice = create_room(http)
    tus = Tus.member(http, alice)
    files: dict[str, bytes] = {}
    for size in (1, 300_001, 2_000_003):
        data = os.urandom(size)
        url = tus.upload(data, chunk=500_000, room=alice.room_id, name=f"f{size}.bin")
        files[file_id(url)] = data
    going = tus.new(10_000_000, room=alice.room_id, name="going.bin")
    upload = SlowUpload(tus, going)
    writer = ChatWriter(Peer(server, alice))
    upload.start()
    writer.start()
    try:
        wait_until(lambda: len(writer.acked) >= 50 and upload.offset > 0, what="load going")
        acked_before = list(writer.acked)
        made = peerlane("backup", tmp_path / "backup.tar", PEERLANE_DATA_DIR=str(server.data_dir))
        acked_during = len(writer.acked) - len(acked_before)
    finally:
        writer.stop.set()
        upload.stop.set()
        writer.join(30)
        upload.join(30)
    assert made.returncode == 0, made.stderr
    assert writer.error is None, writer.error
    assert acked_during > 0, "the writer went on while the backup ran"
    assert "backed up 3 files" in made.stdout, made.stdout
    server.stop()
    http.close()

    restored = tmp_path / "restored"
    done = peerlane("restore", tmp_path / "backup.tar", "--data-dir", restored)
    assert done.returncode == 0, done.stderr
    again = ServerProcess(restored).start()
    try:
        with httpx.Client(base_url=again.base, timeout=30) as http2:
            history = whole_history(http2, alice)  # alice's token: the secret came back
            for seq, body in acked_before:
                assert history.get(seq) == body, seq
            for fid, data in files.items():
                r = http2.get(f"/api/rooms/{alice.room_id}/files/{fid}", headers=alice.auth)
                assert r.status_code == 200, r.text
                assert hashlib.sha256(r.content).digest() == hashlib.sha256(data).digest()
            unfinished = httpx.URL(going).path  # the old server's address is gone
            assert Tus.member(http2, alice).head(unfinished).status_code == 404
    finally:
        again.stop()


@pytest.fixture
def small_backup(tmp_path: Path) -> tuple[Path, ServerProcess]:
    server = ServerProcess(tmp_path / "live").start()
    with httpx.Client(base_url=server.base, timeout=30) as http:
        alice = create_room(http)
        Tus.member(http, alice).upload(b"some bytes", room=alice.room_id, name="a.txt")
    made = peerlane("backup", tmp_path / "backup", PEERLANE_DATA_DIR=str(server.data_dir))
    server.stop()
    assert made.returncode == 0, made.stderr
    return tmp_path / "backup", server


def test_restore_checks_the_manifest(small_backup: tuple[Path, ServerProcess]) -> None:
    backup, _ = small_backup
    assert backup.stat().st_mode & 0o077 == 0  # the owner's only
    manifest = json.loads((backup / "manifest.json").read_text())
    (entry,) = manifest["files"]
    assert entry["size"] == len(b"some bytes")
    (backup / entry["path"]).write_bytes(b"some bytez")
    done = peerlane("restore", backup, "--data-dir", backup.parent / "new")
    assert done.returncode == 2
    assert "does not match the manifest" in done.stderr
    assert not (backup.parent / "new" / "peerlane.db").exists()


def test_restore_refuses_a_data_dir_in_use_unless_forced(
    small_backup: tuple[Path, ServerProcess],
) -> None:
    backup, server = small_backup
    refused = peerlane("restore", backup, "--data-dir", server.data_dir)
    assert refused.returncode == 2
    assert "is not empty" in refused.stderr
    forced = peerlane("restore", backup, "--data-dir", server.data_dir, "--force")
    assert forced.returncode == 0, forced.stderr


def test_backup_refuses_an_existing_target(small_backup: tuple[Path, ServerProcess]) -> None:
    backup, server = small_backup
    again = peerlane("backup", backup, PEERLANE_DATA_DIR=str(server.data_dir))
    assert again.returncode == 2
    assert "exists" in again.stderr


def test_a_tar_backup_holds_one_folder(small_backup: tuple[Path, ServerProcess]) -> None:
    _, server = small_backup
    target = server.data_dir.parent / "b.tar"
    assert peerlane("backup", target, PEERLANE_DATA_DIR=str(server.data_dir)).returncode == 0
    with tarfile.open(target) as tar:
        names = tar.getnames()
    assert "peerlane-backup/manifest.json" in names
    assert all(name.startswith("peerlane-backup") for name in names)
    assert target.stat().st_mode & 0o777 == 0o600  # it holds the token secret


def test_postgresql_is_explained_not_copied(tmp_path: Path) -> None:
    done = peerlane(
        "backup",
        tmp_path / "b",
        PEERLANE_DATA_DIR=str(tmp_path),
        PEERLANE_DATABASE_URL="postgresql+asyncpg://peerlane@127.0.0.1/peerlane",
    )
    assert done.returncode == 2
    assert "pg_dump" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "b").exists()
