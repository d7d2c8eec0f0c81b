"""A peerlane server whose file store holds at most ``PEERLANE_TEST_CAPACITY`` bytes: an
emulated small disk for machines where the tests cannot mount a tmpfs (not root).

Run as a script by :class:`CappedServer`; everything else is the real server."""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from peerlane.config import load_settings
from peerlane.files.local import LocalFileStore, LocalWriter
from peerlane.server.app import create_app
from support import ServerProcess


class CappedWriter(LocalWriter):
    def __init__(self, writer: LocalWriter, store: CappedFileStore) -> None:
        super().__init__(writer._fd, writer.position)
        self.store = store

    def write(self, data: bytes | bytearray | memoryview) -> None:
        free = self.store.free()
        if len(data) > free:
            super().write(memoryview(data)[: max(0, free)])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super().write(data)


class CappedFileStore(LocalFileStore):
    """Every regular file under ``root`` counts against ``capacity``, like on a disk."""

    def __init__(self, root: Path, capacity: int) -> None:
        super().__init__(root)
        self.capacity = capacity

    def free(self) -> int:
        used = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
        return self.capacity - used

    async def open_append(self, blob_id: str, offset: int) -> CappedWriter:
        return CappedWriter(await super().open_append(blob_id, offset), self)

    async def free_bytes(self) -> int | None:
        return self.free()


@dataclass
class CappedServer(ServerProcess):
    capacity: int = 1024 * 1024

    def start(self) -> CappedServer:
        import subprocess

        env = {
            **os.environ,
            "PEERLANE_DATA_DIR": str(self.data_dir),
            "PEERLANE_PORT": str(self.port),
            "PEERLANE_TEST_CAPACITY": str(self.capacity),
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path]),
            **self.env,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, __file__], env=env, stdout=log, stderr=log
            )
        self.wait_ready()
        return self


def main() -> None:
    settings = load_settings()
    files = CappedFileStore(settings.files_path, int(os.environ["PEERLANE_TEST_CAPACITY"]))
    app = create_app(settings, files=files)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
