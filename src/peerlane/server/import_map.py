"""The web client's import map: bare ``@noble/...`` specifiers (web/e2e/pake.js) and ``qr``
(web/ui/qr-svg.js) resolve to the packages' files copied into web/vendor/
(scripts/vendor_web_packages.py).

An import map can only be an inline script, and the CSP allows no inline script, so the
CSP names this one by its SHA-256 (``script-src 'self' 'sha256-...'``). index.html holds
the same tag, byte for byte (tests/unit/test_import_map.py checks both)."""

from __future__ import annotations

import base64
import hashlib
import json

IMPORT_MAP = json.dumps(
    {
        "imports": {
            "@noble/curves/": "/static/vendor/@noble/curves/",
            "@noble/hashes/": "/static/vendor/@noble/hashes/",
            "qr": "/static/vendor/qr/index.js",
        }
    },
    separators=(",", ":"),
)
IMPORT_MAP_TAG = f'<script type="importmap">{IMPORT_MAP}</script>'
IMPORT_MAP_CSP_SOURCE = (
    "'sha256-" + base64.b64encode(hashlib.sha256(IMPORT_MAP.encode()).digest()).decode() + "'"
)


def resolve(specifier: str) -> str | None:
    """The URL the browser loads a bare specifier from (an exact entry, or the longest
    prefix entry), as the import map resolves it; None when the map has no entry."""
    imports: dict[str, str] = json.loads(IMPORT_MAP)["imports"]
    if specifier in imports:
        return imports[specifier]
    prefixes = [key for key in imports if key.endswith("/") and specifier.startswith(key)]
    if not prefixes:
        return None
    key = max(prefixes, key=len)
    return imports[key] + specifier[len(key) :]
