"""The installable app: the service worker script, served at ``/sw.js`` (its scope is the
whole origin, which needs a script at the root), made of ``web/sw.js`` and, ahead of it,
the version of the client and the list of files it keeps for offline use.

The worker keeps the version's files at the URLs the pages load them from,
``/app/<files' version>/<name>`` (server/static.py), and answers ``/static/<name>`` (the
stable names) from the same copies. Its own version is a hash of the files' version, of
the HTML shells and of web/sw.js: whenever any of them changes (an upgrade, an edit
while developing) the script's bytes change, the browser installs the new worker in the
background, and the page offers "New version — reload" (web/pwa.js). The worker keeps
each version's files in a cache of its own, filled whole at install, so a page is always
served from one version, never half-old, half-new (docs/web-client.md, "Installable app").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

from peerlane.server.static import StaticAssets

# Files under the web folder that the worker does not keep: the source of the worker
# itself, and index.html (pages get the shells, which the worker keeps by route).
NOT_CACHED = frozenset({"sw.js", "index.html"})
# The shells the worker keeps, one URL per kind of page (web/sw.js maps every route to
# one of them). /join is left to the network: its shell depends on Sec-Fetch-Site.
SHELL_URLS = ("/", "/r/-", "/share")
# The versioned files' mount: /app/<version>/<name> (server/static.py, VersionedAssets).
ASSETS_MOUNT = "/app"


def add_pwa(app: FastAPI, assets: StaticAssets, shells: Sequence[str], web: Path) -> None:
    async def service_worker() -> Response:
        return Response(
            worker_script(assets, shells, web),
            media_type="text/javascript",
            # Checked for updates on every navigation (browsers cap a worker's HTTP
            # cache at 24 h anyway); the header keeps proxies from holding an old one.
            headers={"cache-control": "no-cache"},
        )

    app.add_api_route("/sw.js", service_worker, methods=["GET"], include_in_schema=False)


def asset_prefix(version: str) -> str:
    """Where the pages load the files of ``version`` from (web_pages.py mounts it)."""
    return f"{ASSETS_MOUNT}/{version}/"


def worker_script(assets: StaticAssets, shells: Sequence[str], web: Path) -> str:
    """web/sw.js with ``self.PEERLANE_BUILD`` (version, assets, files, shells) set ahead
    of it."""
    files_version = assets.version()  # every file checked on disk first
    prefix = asset_prefix(files_version)
    kept = sorted(name for name in list(assets.assets) if name not in NOT_CACHED)
    digest = hashlib.blake2b(digest_size=8)
    digest.update(files_version.encode() + b"\0")
    for html in shells:
        digest.update(html.encode())
    source = (web / "sw.js").read_text(encoding="utf-8")
    digest.update(source.encode())
    build = {
        "version": digest.hexdigest(),
        "assets": prefix,
        "files": [prefix + name for name in kept],
        "shells": list(SHELL_URLS),
    }
    return f"self.PEERLANE_BUILD = {json.dumps(build)};\n" + source
