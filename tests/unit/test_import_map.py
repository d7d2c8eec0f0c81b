"""The import map that lets the browser load its npm packages (web/e2e/pake.js's @noble,
web/ui/qr-svg.js's qr): index.html carries it, the CSP allows exactly it, and every module
the client imports through it is served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from peerlane.server.import_map import IMPORT_MAP_CSP_SOURCE, IMPORT_MAP_TAG, resolve
from peerlane.server.middleware import CSP

WEB = Path(__file__).resolve().parents[2] / "src" / "peerlane" / "web"
# `import ... from "pkg..."` (or a multi-line import's closing `} from "pkg..."`): a bare
# specifier, not a relative "./x.js".
BARE_IMPORT = re.compile(r"""^(?:import\s[^;]*?|\}\s*)from\s*["']([^"'./][^"']*)["']""", re.M)


def test_index_html_carries_the_import_map_the_csp_names() -> None:
    assert IMPORT_MAP_TAG in (WEB / "index.html").read_text(encoding="utf-8")
    assert f"script-src 'self' {IMPORT_MAP_CSP_SOURCE};" in CSP


def test_every_package_module_the_client_imports_is_vendored() -> None:
    # scripts/vendor_web_packages.py (make node-deps) copies them from node_modules.
    vendor = WEB / "vendor"
    imported = set()
    for path in WEB.rglob("*.js"):
        if vendor not in path.parents:
            text = path.read_text(encoding="utf-8")
            imported |= set(BARE_IMPORT.findall(text))
    assert {"@noble/curves/ed25519.js", "qr"} <= imported, imported
    unmapped = sorted(name for name in imported if resolve(name) is None)
    assert not unmapped, f"add them to server/import_map.py and index.html: {unmapped}"
    missing = sorted(
        name
        for name in imported
        if not (WEB / str(resolve(name)).removeprefix("/static/")).is_file()
    )
    assert not missing, f"run `make node-deps` (scripts/vendor_web_packages.py): {missing}"


def test_the_module_graph_follows_packages_by_their_import_map_url(tmp_path: Path) -> None:
    # web_pages.py preloads a package's modules by the URL the import map gives them (the
    # one the browser keys them by), and their relative imports under it; a bare import
    # the map does not name is a mistake caught at start, not a 404 in the browser.
    from peerlane.server.web_pages import ModuleGraph

    (tmp_path / "vendor" / "@noble" / "curves").mkdir(parents=True)
    (tmp_path / "vendor" / "@noble" / "curves" / "ed25519.js").write_text(
        'import { mod } from "./abstract/modular.js";\n'
    )
    (tmp_path / "page.js").write_text(
        'import encodeQR from "qr";\nimport { ed } from "@noble/curves/ed25519.js";\n'
    )
    (tmp_path / "bad.js").write_text('import pad from "left-pad";\n')
    graph = ModuleGraph(tmp_path)
    assert graph.imports("page.js") == [
        "/static/vendor/qr/index.js",
        "/static/vendor/@noble/curves/ed25519.js",
    ]
    assert graph.imports("/static/vendor/@noble/curves/ed25519.js") == [
        "/static/vendor/@noble/curves/abstract/modular.js"
    ]
    with pytest.raises(ValueError, match="left-pad"):
        graph.imports("bad.js")


def test_missing_npm_packages_are_a_clear_config_error(tmp_path: Path) -> None:
    """A checkout where `make node-deps` never ran has no web/vendor: the server refuses to
    start in words (what is missing, what to run), not with a traceback; any other missing
    module is still a plain error (a bug, not a setup step)."""
    from peerlane.errors import ConfigError
    from peerlane.server.web_pages import ModuleGraph

    (tmp_path / "a.js").write_text('import { encodeQR } from "./vendor/qr/index.js";\n')
    (tmp_path / "b.js").write_text('import { x } from "./gone.js";\n')
    with pytest.raises(ConfigError, match="make node-deps"):
        ModuleGraph(tmp_path).closure(["a.js"])
    with pytest.raises(FileNotFoundError):
        ModuleGraph(tmp_path).closure(["b.js"])


async def test_every_shell_names_the_import_map_before_any_module(tmp_path: Path) -> None:
    """Firefox ignores an import map that comes after a module script or preload has
    started (Chromium merges it), and then no bare specifier resolves: the join page's
    early join-now.js script once came first, and the room page never opened there."""
    import httpx

    from peerlane.config import load_settings
    from peerlane.server.app import create_app

    app = create_app(load_settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/", "/join", "/r/abc", "/share", "/s", "/diagnostics"):
            for site in ("none", "cross-site"):  # both join shells
                html = (await client.get(path, headers={"Sec-Fetch-Site": site})).text
                first_module = min(
                    html.find(marker)
                    for marker in ('<script type="module"', 'rel="modulepreload"')
                    if marker in html
                )
                assert 0 <= html.find(IMPORT_MAP_TAG) < first_module, path
