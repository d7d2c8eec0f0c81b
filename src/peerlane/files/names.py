"""What a file is called and how it is labelled when served (sans-I/O).

Names come from clients and are only ever *displayed*: they never reach the file
system (blobs are named by ids). Still, they are cleaned on the way in — no control or
bidi-override characters, no path separators, bounded length — and encoded on the way
out per RFC 6266 / RFC 8187 so no header can be broken or smuggled.

Content types are served as declared only when a browser cannot run them: the
allow-list below. Anything else (HTML, SVG, XML, JavaScript, unknown) is served as
``application/octet-stream``, always as an attachment, with ``nosniff``.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME_CHARS = 255
DEFAULT_NAME = "file"
OCTET_STREAM = "application/octet-stream"
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}$")
_SAFE_PREFIXES = ("image/", "audio/", "video/")
_UNSAFE = {"image/svg+xml"}  # an image that runs script
_SAFE_TYPES = {
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-tar",
    "application/x-7z-compressed",
    "application/json",
    "text/plain",
    "text/csv",
    OCTET_STREAM,
}
# RFC 5987 attr-char: what may stay unescaped in filename*=UTF-8''...
_ATTR_CHARS = "!#$&+-.^_`|~"


def safe_name(raw: str | None) -> str:
    """A display name from a client's: NFC, without control, format (bidi) or surrogate
    characters, with ``/`` and ``\\`` turned into ``_``, trimmed, at most
    :data:`MAX_NAME_CHARS` characters; ``file`` if nothing is left."""
    text = unicodedata.normalize("NFC", raw or "")
    kept = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            continue
        kept.append("_" if char in "/\\" else char)
    name = "".join(kept).strip()[:MAX_NAME_CHARS].strip()
    if not name or set(name) <= {"."}:
        return DEFAULT_NAME
    return name


# Names Windows keeps for devices, whatever the extension ("nul.txt" is the device too).
_DEVICE_NAMES = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_NOT_ON_WINDOWS = re.compile(r'[<>:"|?*]')
MAX_PATH_PARTS = 64


def safe_relative_path(raw: str | None) -> list[str]:
    """A sender's name for a received file (``photos/2024/a.jpg``) as the parts of a path
    that stays under the receiving folder on any system: split at ``/`` and ``\\``,
    empty, ``.`` and ``..`` parts dropped (so no absolute path, no climbing out), each part
    cleaned by :func:`safe_name`, characters Windows refuses turned into ``_``, trailing
    dots and spaces dropped, device names (``CON``, ``nul.txt``, ``COM1``…) prefixed with
    ``_``; at most :data:`MAX_PATH_PARTS` parts; ``["file"]`` if nothing is left."""
    parts: list[str] = []
    for piece in re.split(r"[\\/]+", raw or ""):
        if piece.strip() in ("", ".", ".."):
            continue
        part = _NOT_ON_WINDOWS.sub("_", safe_name(piece)).rstrip(". ") or DEFAULT_NAME
        parts.append("_" + part if _DEVICE_NAMES.match(part) else part)
    return parts[-MAX_PATH_PARTS:] or [DEFAULT_NAME]


def declared_type(raw: str | None) -> str:
    """The media type a client declared, lower-cased without parameters; octet-stream
    if it is missing or not shaped like ``type/subtype``."""
    media_type = (raw or "").split(";", 1)[0].strip().lower()
    return media_type if _MEDIA_TYPE.fullmatch(media_type) else OCTET_STREAM


def served_type(declared: str) -> str:
    """The Content-Type to serve a file with: the declared one if browsers treat it as
    inert, else octet-stream."""
    media_type = declared_type(declared)
    if media_type in _UNSAFE:
        return OCTET_STREAM
    if media_type in _SAFE_TYPES or media_type.startswith(_SAFE_PREFIXES):
        return f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type
    return OCTET_STREAM


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback ``filename`` and the exact UTF-8
    ``filename*`` (RFC 6266); safe for any input, cleaned or not."""
    clean = safe_name(name)
    fallback = (
        "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%;' else "_" for c in clean).strip()
        or DEFAULT_NAME
    )
    encoded = quote(clean, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
