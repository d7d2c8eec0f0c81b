#!/usr/bin/env python3
"""Copy the browser's npm runtime packages into the web client: src/peerlane/web/vendor/.

The browser loads @noble/curves and @noble/hashes (web/e2e/pake.js) and qr (the invite
panel's QR code for encrypted rooms, web/ui/qr-svg.js) as ES modules through the import map
in index.html, from /static/vendor/<package>/. They are npm packages, not
code of ours, so git never holds them (vendor/ is in .gitignore): this script copies them
out of node_modules (installed by `npm ci`, `make node-deps` runs both) and the wheel and
the container image take them from there with the rest of the web folder.

Only the modules the client's entry points reach are copied (following their relative and
package imports), with each package's LICENSE: no TypeScript sources or typings,
so the service worker precaches nothing the client never loads.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = (ROOT / "node_modules").resolve()  # a symlink in a worktree
VENDOR = ROOT / "src" / "peerlane" / "web" / "vendor"
PACKAGES = ("@noble/curves", "@noble/hashes", "qr")
# What web/ imports from the packages.
ENTRY_POINTS = (
    "@noble/curves/ed25519.js",
    "@noble/hashes/hkdf.js",
    "@noble/hashes/hmac.js",
    "@noble/hashes/sha2.js",
    "qr",
)
IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["']([^"']+)["']""")


def module_path(specifier: str, importer: Path | None) -> Path:
    if specifier.startswith("."):
        assert importer is not None
        return (importer.parent / specifier).resolve()
    if specifier in PACKAGES:  # a bare package name: its main module
        manifest = json.loads((NODE_MODULES / specifier / "package.json").read_text("utf-8"))
        return (NODE_MODULES / specifier / manifest.get("module", manifest["main"])).resolve()
    package = next(p for p in PACKAGES if specifier.startswith(p + "/"))
    return (NODE_MODULES / package / specifier[len(package) + 1 :]).resolve()


def reachable(entries: tuple[str, ...]) -> set[Path]:
    seen: set[Path] = set()
    todo = [module_path(entry, None) for entry in entries]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for specifier in IMPORT.findall(path.read_text(encoding="utf-8")):
            todo.append(module_path(specifier, path))
    return seen


def main() -> int:
    missing = [p for p in PACKAGES if not (NODE_MODULES / p / "package.json").is_file()]
    if missing:
        print(f"vendor_web_packages: run `npm ci` first (missing {', '.join(missing)})")
        return 1
    shutil.rmtree(VENDOR, ignore_errors=True)
    files = reachable(ENTRY_POINTS)
    copies = {path: VENDOR / path.relative_to(NODE_MODULES) for path in files}
    for package in PACKAGES:  # the licence travels with the code (.txt: a served type)
        copies[NODE_MODULES / package / "LICENSE"] = VENDOR / package / "LICENSE.txt"
    for path, target in sorted(copies.items()):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    size = sum(p.stat().st_size for p in copies)
    print(f"vendor_web_packages: {len(copies)} files, {size // 1024} KiB in {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
