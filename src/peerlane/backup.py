"""Online backup and restore of a SQLite deployment: ``peerlane backup`` / ``peerlane restore``.

A backup is a folder (or a .tar of one) holding:

- ``peerlane.db``: a copy of the database made with SQLite's online backup API, one step
  inside one read transaction, so it is the database as of one moment while the server
  goes on writing (WAL mode: readers never block the writer, nor it them);
- ``files/<id[:2]>/<id>``: the bytes of every upload that is complete in that copy;
- ``tls/``: the self-signed certificate, if there is one (phones keep trusting it);
- ``manifest.json``, written last: the size and SHA-256 of each of the above.

Unfinished uploads are left out, their rows too (deleted from the copy): their bytes are
a moving target, and after a restore their senders start them again. A complete file
deleted between the database copy and the copy of its bytes (its room expired) is
listed as gone and its row removed from the copy. PostgreSQL is not handled here: its
own tools (pg_dump) make the consistent copy; see docs/deployment.md.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from peerlane import __version__

MANIFEST = "manifest.json"
DB_NAME = "peerlane.db"
FORMAT = 1
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator."""


@dataclass
class Summary:
    path: Path
    files: int
    bytes: int
    gone: list[str]


def sqlite_path(db_url: str) -> Path:
    """The database file of a SQLite URL; BackupError for any other database."""
    scheme, _, rest = db_url.partition(":///")
    if not scheme.startswith("sqlite") or not rest or rest.startswith(":memory:"):
        raise BackupError(
            "peerlane backup copies a SQLite database only. For PostgreSQL, back up the "
            "database with pg_dump (pg_dump -Fc -f peerlane.dump DBNAME) and the files "
            "directory with any file copy tool, files after the dump; "
            "see docs/deployment.md, 'Backups'."
        )
    return Path(rest.split("?", 1)[0])


def _copy_hashed(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` to ``target``; its size and SHA-256 as copied."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return size, digest.hexdigest()


def _hash(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _snapshot(db_path: Path, target: Path) -> None:
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}: is the data directory right?")
    source = sqlite3.connect(db_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # pages=-1: everything in one step, one read transaction
        # Only complete uploads go into the backup (see the module docstring).
        copy.execute(
            "DELETE FROM file_blocks WHERE file_id IN "
            "(SELECT id FROM files WHERE status != 'complete')"
        )
        copy.execute("DELETE FROM files WHERE status != 'complete'")
        copy.commit()
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"the database copy failed its integrity check: {verdict}")
    finally:
        copy.close()
        source.close()


def _write_backup(db_path: Path, files_dir: Path, tls_dir: Path, folder: Path) -> Summary:
    folder.mkdir(parents=True, mode=0o700)  # the database holds the token secret
    db_copy = folder / DB_NAME
    _snapshot(db_path, db_copy)
    copy = sqlite3.connect(db_copy)
    try:
        complete = [row[0] for row in copy.execute("SELECT id FROM files ORDER BY id")]
    finally:
        copy.close()
    entries, gone = [], []
    for file_id in complete:
        relative = f"files/{file_id[:2]}/{file_id}"
        try:
            size, sha256 = _copy_hashed(files_dir / file_id[:2] / file_id, folder / relative)
        except FileNotFoundError:
            gone.append(file_id)
            continue
        entries.append({"id": file_id, "path": relative, "size": size, "sha256": sha256})
    if gone:  # deleted since the snapshot: the restored database must not list them
        copy = sqlite3.connect(db_copy)
        try:
            copy.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in gone])
            copy.commit()
        finally:
            copy.close()
    extra = []
    if tls_dir.is_dir():
        for path in sorted(p for p in tls_dir.iterdir() if p.is_file()):
            size, sha256 = _copy_hashed(path, folder / "tls" / path.name)
            extra.append({"path": f"tls/{path.name}", "size": size, "sha256": sha256})
    db_size, db_sha = _hash(db_copy)
    manifest = {
        "format": FORMAT,
        "peerlane_version": __version__,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "database": {"path": DB_NAME, "size": db_size, "sha256": db_sha},
        "files": entries,
        "other": extra,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    total = db_size + sum(int(e["size"]) for e in entries)
    return Summary(folder, len(entries), total, gone)


def backup(db_url: str, files_dir: Path, tls_dir: Path, dest: Path) -> Summary:
    """Back up into ``dest``: a new folder, or a tar file if it ends in .tar."""
    db_path = sqlite_path(db_url)
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty folder: give a new path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".peerlane-backup-", dir=dest.parent) as work:
        folder = Path(work) / "backup"
        try:
            summary = _write_backup(db_path, files_dir, tls_dir, folder)
        except sqlite3.Error as exc:
            raise BackupError(f"the database at {db_path} could not be copied: {exc}") from exc
        if dest.suffix == ".tar":
            partial = Path(work) / "backup.tar"
            with tarfile.open(partial, "w") as tar:
                tar.add(folder, arcname="peerlane-backup")
            partial.chmod(0o600)  # the database holds the token secret
            partial.replace(dest)
        else:
            if dest.exists():
                dest.rmdir()
            folder.replace(dest)  # whole or not at all: the manifest is in it
    summary.path = dest
    return summary


def _check(folder: Path) -> dict[str, object]:
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{folder} is not a peerlane backup (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as exc:
        raise BackupError(f"{manifest_path} is not valid JSON") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    items = [manifest["database"], *manifest["files"], *manifest.get("other", [])]
    for item in items:
        path = folder / item["path"]
        if not path.resolve().is_relative_to(folder.resolve()):
            raise BackupError(f"the manifest names a path outside the backup: {item['path']}")
        if not path.is_file():
            raise BackupError(f"the backup lacks {item['path']}")
        if _hash(path) != (item["size"], item["sha256"]):
            raise BackupError(f"{item['path']} does not match the manifest (damaged?)")
    return dict(manifest)


def restore(source: Path, data_dir: Path, files_dir: Path | None, *, force: bool) -> Summary:
    """Check the backup at ``source`` against its manifest, then put it into
    ``data_dir`` (files into ``files_dir``, default ``data_dir/files``)."""
    files_target = files_dir if files_dir is not None else data_dir / "files"
    busy = [p for p in (data_dir, files_target) if p.exists() and any(p.iterdir())]
    if busy and not force:
        raise BackupError(
            f"{busy[0]} is not empty: restore into a new data directory, or give --force "
            "to replace its database and files (stop the server first)"
        )
    with tempfile.TemporaryDirectory(prefix="peerlane-restore-") as work:
        folder = source
        if source.is_file():
            with tarfile.open(source) as tar:
                tar.extractall(work, filter="data")
            folder = Path(work) / "peerlane-backup"
        elif not source.is_dir():
            raise BackupError(f"no backup at {source}")
        manifest = _check(folder)
        data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            (data_dir / f"{DB_NAME}{suffix}").unlink(missing_ok=True)
        if files_target.exists():
            shutil.rmtree(files_target)
        files_target.mkdir(parents=True)
        entries = manifest["files"]
        assert isinstance(entries, list)
        size = 0
        for entry in entries:
            target = files_target / entry["id"][:2] / entry["id"]
            size += _copy_hashed(folder / entry["path"], target)[0]
        for other in manifest.get("other", []):  # type: ignore[attr-defined]
            _copy_hashed(folder / other["path"], data_dir / other["path"])
            (data_dir / other["path"]).chmod(0o600)  # the TLS key among them
        # The database last: a restore cut short leaves no database that lacks files.
        partial = data_dir / f"{DB_NAME}.restoring"
        size += _copy_hashed(folder / DB_NAME, partial)[0]
        partial.replace(data_dir / DB_NAME)
    return Summary(data_dir, len(entries), size, [])
