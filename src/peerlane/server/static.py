"""The web client's files, served from memory.

Every file under the web folder is read once, when the app is created, with its response
headers worked out then: content type, length, ETag (a hash of the bytes) and
Last-Modified (the file's mtime). A request is then a dictionary lookup and one write, on
the event loop. Starlette's ``StaticFiles`` did a ``stat``, an ``open`` and reads through
the thread pool for every file: 1.5-4 ms of server CPU per request on the 2-core test
machine against 0.4 ms now, and joining a room by link asks for about twenty files
(docs/web-client.md, "Loading").

What it answers is what ``StaticFiles`` answered: GET and HEAD (405 otherwise), 304 for a
matching ``If-None-Match`` or a not-older ``If-Modified-Since``, and a 404 (the app's JSON
error, like any other) for anything that is not a file of the folder: unknown names,
directories, paths leading out of the folder. ``Range`` requests get the whole file (200),
which HTTP allows; nothing asks the client's modules by range. The security headers come
from the middleware, as for every response.

Each request also checks the file's modification time and size (one ``stat``, a few
microseconds): a file changed on disk -- an edit while developing, an upgrade in place --
is read again, a file added since start-up is read when first asked for, and a removed one
is a 404.

Two mounts serve the same files (docs/web-client.md, "Loading" and "Installable app"):

- ``/app/<version>/<name>`` (``VersionedAssets``): the pages load everything from here.
  ``<version>`` is a hash of every file (``StaticAssets.version``), so a URL names one
  version's bytes for good: ``Cache-Control: public, max-age=31536000, immutable``, and a
  CDN in front may keep them a year. A version that is not the current one is a 404, never
  today's bytes under yesterday's name (a page half-old, half-new; a CDN holding the wrong
  bytes for a year). One prefix for the whole version rather than a hash in each file's
  name: the modules' relative imports (``./store.js``) stay valid as written.
- ``/static/<name>`` (``StaticAssets``): stable names, for what must not move with each
  version (the web app manifest, whose URL the installed app is known by; the icons a
  notification names), revalidated on every use (``no-cache``).
"""

from __future__ import annotations

import calendar
import hashlib
import mimetypes
import os
import posixpath
from dataclasses import dataclass
from email.utils import formatdate, parsedate_tz
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

# The types of the client's files, independent of the system's mime.types.
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}


def content_type(name: str) -> str:
    """The Content-Type of a file, by its name."""
    known = CONTENT_TYPES.get(posixpath.splitext(name)[1].lower())
    if known:
        return known
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


@dataclass(frozen=True)
class Asset:
    path: Path
    stamp: tuple[int, int]  # (mtime in ns, size) when read: a change means read it again
    body: bytes
    etag: str
    last_modified: int  # seconds since the epoch, whole seconds (as HTTP dates have)
    headers: tuple[tuple[bytes, bytes], ...]  # of a 200 (shared by every response: a tuple)
    not_modified: tuple[tuple[bytes, bytes], ...]  # of a 304


# A URL whose bytes never change (a version's); a URL whose bytes may (a stable name).
IMMUTABLE = ((b"cache-control", b"public, max-age=31536000, immutable"),)
REVALIDATED = ((b"cache-control", b"no-cache"),)


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    return (stat.st_mtime_ns, stat.st_size)


def load_asset(path: Path, name: str) -> Asset:
    stat = path.stat()
    body = path.read_bytes()
    mtime = int(stat.st_mtime)
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    modified = formatdate(mtime, usegmt=True)
    return Asset(
        path=path,
        stamp=_stamp(stat),
        body=body,
        etag=etag,
        last_modified=mtime,
        headers=(
            (b"content-type", content_type(name).encode()),
            (b"content-length", str(len(body)).encode()),
            (b"etag", etag.encode()),
            (b"last-modified", modified.encode()),
        ),
        not_modified=((b"etag", etag.encode()), (b"last-modified", modified.encode())),
    )


class StaticAssets:
    """An ASGI app serving the files under ``root`` (read now) at their relative paths."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.assets: dict[str, Asset] = {}
        self._version: str | None = None  # of the files as last read; None: work it out
        for path in sorted(self.root.rglob("*")):
            if self._servable(path):
                name = path.relative_to(self.root).as_posix()
                self.assets[name] = load_asset(path, name)

    def _servable(self, path: Path) -> bool:
        """A file of the folder; like StaticFiles, nothing that leads out of it (a
        symlink)."""
        return path.is_file() and path.resolve().is_relative_to(self.root)

    def lookup(self, route_path: str) -> Asset | None:
        """The file at a request's path below the mount (``/ui/dom.js``), or None. ``.``
        and ``..`` segments and repeated slashes are resolved first, as StaticFiles does,
        so what is left names a path inside the folder."""
        name = posixpath.normpath("/" + route_path).lstrip("/")
        if not name or name == ".":
            return None
        asset = self.assets.get(name)
        path = asset.path if asset is not None else self.root / name
        try:
            if asset is not None and _stamp(path.stat()) == asset.stamp:
                return asset  # the usual case: unchanged since read
            if not self._servable(path):
                self._forget(name)
                return None
            asset = self.assets[name] = load_asset(path, name)
            self._version = None
        except (OSError, ValueError):  # removed or unreadable meanwhile; a NUL in the name
            self._forget(name)
            return None
        return asset

    def _forget(self, name: str) -> None:
        if self.assets.pop(name, None) is not None:
            self._version = None

    def version(self) -> str:
        """The files' version: a hash of every file's name and bytes, each checked on disk
        first (one ``stat`` a file), so a file changed since is in it. For what names the
        version (the pages, the service worker): once per page, not per file."""
        for name, asset in list(self.assets.items()):
            try:
                unchanged = _stamp(os.stat(asset.path)) == asset.stamp
            except OSError:
                unchanged = False
            if not unchanged:
                self.lookup(name)  # read again, or gone
        return self.known_version()

    def known_version(self) -> str:
        """The version of the files as last read, without checking the disk: enough to
        tell whether ``/app/<version>/<name>`` is current once ``name`` itself is
        checked, as its bytes are then the same in that version and in this one."""
        if self._version is None:
            digest = hashlib.blake2b(digest_size=8)
            for name in sorted(self.assets):
                digest.update(name.encode() + b"\0" + self.assets[name].etag.encode() + b"\0")
            self._version = digest.hexdigest()
        return self._version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await _refused(scope, send):
            return
        await _serve(scope, send, self.lookup(_route_path(scope)), REVALIDATED)


class VersionedAssets:
    """An ASGI app serving ``assets`` at ``/<version>/<name>`` below its mount, for the
    current version only, with immutable caching."""

    def __init__(self, assets: StaticAssets) -> None:
        self.assets = assets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await _refused(scope, send):
            return
        version, _, name = _route_path(scope).lstrip("/").partition("/")
        asset = self.assets.lookup(name)  # checked on disk: a change makes a new version
        if asset is not None and version != self.assets.known_version():
            asset = None  # another version's name: not today's bytes under it
        await _serve(scope, send, asset, IMMUTABLE)


async def _refused(scope: Scope, send: Send) -> bool:
    """A WebSocket (closed) or a method other than GET and HEAD (405)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
        return True
    if scope["method"] not in ("GET", "HEAD"):
        raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
    return False


async def _serve(
    scope: Scope,
    send: Send,
    asset: Asset | None,
    caching: tuple[tuple[bytes, bytes], ...],
) -> None:
    if asset is None:
        raise HTTPException(status_code=404)
    if _not_modified(scope, asset):
        status, headers, body = 304, asset.not_modified + caching, b""
    else:
        status, headers = 200, asset.headers + caching
        body = b"" if scope["method"] == "HEAD" else asset.body
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _route_path(scope: Scope) -> str:
    """The request's path below the mount point (``scope["root_path"]``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _not_modified(scope: Scope, asset: Asset) -> bool:
    """A conditional request the client's copy satisfies: If-None-Match names the ETag
    (or ``*``); without If-None-Match, If-Modified-Since is not older than the file."""
    if_none_match = _header(scope, b"if-none-match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or asset.etag in tags
    if_modified_since = _header(scope, b"if-modified-since")
    if if_modified_since is None:
        return False
    try:
        parsed = parsedate_tz(if_modified_since)
        if parsed is None:
            return False
        since = calendar.timegm(parsed[:9]) - (parsed[9] or 0)  # HTTP dates are in GMT
    except (ValueError, OverflowError):
        # A date the calendar cannot hold (year 10000, month 13): RFC 9110 says to ignore
        # an invalid If-Modified-Since, so the client gets the whole file.
        return False
    return since >= asset.last_modified
