"""HTTP middleware in-process: unexpected failures still get the one error shape, the
security headers and a request id, and never leak the exception text."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from peerlane.config import load_settings
from peerlane.server.app import create_app


async def test_an_unexpected_exception_is_a_clean_500_with_headers(tmp_path: Path) -> None:
    app = create_app(load_settings(data_dir=tmp_path))

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get("/api/boom")
    assert r.status_code == 500
    assert r.json() == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on the server; try again.",
        }
    }
    assert "secret internal detail" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-request-id"]


# Where the shells load the files from: the files' version's prefix (server/static.py).
VERSIONED = r"/app/[0-9a-f]{16}/"


# npm packages' modules (web/vendor/) keep their stable /static/ URL: the import map's.
STABLE = "/static/"


def _preloads(html: str) -> set[str]:
    """The preloaded modules, by their path in the web folder."""
    return set(
        re.findall(rf'<link rel="modulepreload" href="(?:{VERSIONED}|{STABLE})([^"]+)">', html)
    )


def _listed(html: str, name: str) -> set[str]:
    """The modules in <meta name="peerlane:{name}">: what app.js preloads once shown."""
    found = re.findall(rf'<meta name="peerlane:{name}" content="([^"]*)">', html)
    assert len(found) <= 1
    return (
        {re.sub(f"^(?:{VERSIONED}|{STABLE})", "", m) for m in found[0].split()} if found else set()
    )


async def test_each_shell_preloads_its_pages_modules(tmp_path: Path) -> None:
    """Each page's HTML shell links the modules of its import graph, so the browser
    fetches them at once instead of one import level at a time; the home and join pages
    get only app.js's static imports, and name the room page's other modules, which they
    preload once shown (the room page loads with import()). The join page runs
    join-now.js before the rest."""
    from peerlane.server.web_pages import WEB

    app = create_app(load_settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        paths = ("/", "/join", "/r/abc", "/share", "/s", "/diagnostics")
        pages = {path: (await client.get(path)).text for path in paths}
        for html in pages.values():
            assert re.search(rf'<script type="module" src="{VERSIONED}app.js"></script>', html)
            assert "<script>" not in html  # still no inline script (CSP)
        entry = _preloads(pages["/"])
        # /join runs join-now.js at once (an async script), its graph linked first
        join = pages["/join"]
        top = join[: join.index('<link rel="stylesheet"')]
        assert re.search(rf'<script type="module" async src="{VERSIONED}join-now.js">', top)
        # handover.js keeps an encrypted room's key from the link (e2e/room-keys.js)
        joins = {
            "api.js",
            "protocol.js",
            "ui/dom.js",
            "handover.js",
            "e2e/room-keys.js",
            "debug.js",
        }
        assert _preloads(top) == joins
        assert _preloads(join) | {"join-now.js"} == entry
        assert all(" async " not in pages[p] for p in paths if p != "/join")
        assert {"app.js", "ui/home-page.js", "ui/dom.js", "ui/nav.js", "api.js"} <= entry
        assert not entry & {"ui/room-page.js", "chat.js", "mesh.js", "transfer.js"}
        assert "ui/share-page.js" not in entry
        room = _preloads(pages["/r/abc"])
        assert entry < room
        # the whole chain room-page -> chat -> transfer -> transfer-send -> integrity, and
        # what the room page loads with import() (its elements, the transfer engine)
        chain = {"ui/room-page.js", "chat.js", "transfer.js", "transfer-send.js", "integrity.js"}
        assert chain | {"ui/message-list.js", "ui/composer.js"} <= room
        # the invite panel's QR code (qr-svg.js) imports the qr package: by its import-map URL
        assert '<link rel="modulepreload" href="/static/vendor/qr/index.js">' in pages["/r/abc"]
        # the home and join pages name the rest of the room page's graph, to load next:
        # what it needs to connect, and apart the rest (its elements, transfers)
        following, later = _listed(pages["/join"], "next"), _listed(pages["/join"], "later")
        assert (following, later) == (_listed(pages["/"], "next"), _listed(pages["/"], "later"))
        assert following | later == room - entry
        assert not following & later
        assert {"ui/room-page.js", "chat.js", "mesh.js", "signaling.js"} <= following
        assert {"transfer.js", "ui/message-list.js", "ui/composer.js"} <= later
        for page in ("/r/abc", "/share"):
            assert _listed(pages[page], "next") == _listed(pages[page], "later") == set()
        share = _preloads(pages["/share"])
        assert _preloads(pages["/s"]) == share
        assert entry < share
        assert "ui/share-page.js" in share
        assert "chat.js" not in share
        everything = entry | room | share | _preloads(pages["/diagnostics"])
        modules = {p.relative_to(WEB).as_posix() for p in WEB.rglob("*.js")}
        # every module is some page's (workers, the service worker included, and type-only
        # modules load on their own; npm packages in vendor/ load through the import map)
        modules = {m for m in modules if not m.startswith("vendor/")}
        type_only = {"ui/types.js", "chat-types.js", "signaling-types.js", "transfer-types.js"}
        workers = {"opfs-worker.js", "e2e/file-crypto-worker.js", "sw.js"}
        assert modules - everything == workers | type_only
        [prefix] = set(re.findall(VERSIONED, pages["/"]))
        for module in sorted(everything):
            url = STABLE + module if module.startswith("vendor/") else prefix + module
            assert (await client.get(url)).status_code == 200, module


async def test_only_a_link_the_person_opened_may_join_at_once(tmp_path: Path) -> None:
    """The join page's shell says whether it may join at once: for a link from the
    address bar, a bookmark, a QR code or another app, or from a peerlane page; not for
    one followed from another site, nor when the browser does not say."""
    app = create_app(load_settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for site, policy in (
            ("none", "at-once"),
            ("same-origin", "at-once"),
            ("same-site", "ask"),
            ("cross-site", "ask"),
            (None, "ask"),
        ):
            headers = {"sec-fetch-site": site} if site else {}
            r = await client.get("/join", headers=headers)
            assert r.headers["vary"] == "Sec-Fetch-Site"
            assert r.headers["cache-control"] == "no-cache"
            found = re.findall(r'<meta name="peerlane:join" content="([^"]*)">', r.text)
            assert found == [policy], (site, found)
            # ahead of the script that reads it
            assert r.text.index("peerlane:join") < r.text.index("join-now.js")
        assert "peerlane:join" not in (await client.get("/")).text


def test_the_lazy_pages_are_the_ones_app_js_imports_dynamically() -> None:
    """The server preloads, per page, what app.js loads with import() to show it."""
    from peerlane.server.web_pages import ENTRY_MODULE, PAGE_MODULES, WEB, ModuleGraph

    roots = {m for extra in PAGE_MODULES.values() for m in extra}
    assert set(ModuleGraph(WEB).lazy_imports(ENTRY_MODULE)) == roots
    source = (WEB / "app.js").read_text()
    assert set(re.findall(r"""import\(\s*["']\./([^"']+)["']\s*\)""", source)) == roots


def test_the_room_connects_before_its_elements_and_transfers_load() -> None:
    """The room page's static graph (what runs before it can connect) leaves out its
    elements and the transfer engine: they load with import(), preloaded all the same."""
    from peerlane.server.web_pages import ROOM_PAGE, WEB, ModuleGraph

    graph = ModuleGraph(WEB)
    core = set(graph.closure(list(ROOM_PAGE)))
    assert {"chat.js", "signaling.js", "mesh.js", "store.js"} <= core
    lazy = {"ui/message-list.js", "ui/composer.js", "transfer.js", "transfer-send.js"}
    assert not core & lazy
    everything = graph.closure(list(ROOM_PAGE), lazy=True)
    assert lazy <= set(everything)
    # in fetching order: the static graph first
    assert everything[: len(core)] == graph.closure(list(ROOM_PAGE))


def test_the_module_graph_reads_static_and_lazy_imports(tmp_path: Path) -> None:
    from peerlane.server.web_pages import ModuleGraph

    (tmp_path / "ui").mkdir()
    (tmp_path / "app.js").write_text(
        '// import "./comment.js" is not at the start of a line\n'
        'import { a } from "./a.js";\n'
        "import {\n  b1,\n  b2,\n} from './ui/b.js';\n"
        'import "./c.js";\n'
        'import * as d from "./d.js";\n'
        '/** @typedef {import("./types.js").T} T */\n'
        "// const old = () => import('./commented.js');\n"
        'const later = () => import("./lazy.js");\n'
        'const typed = /** @type {import("./cast.js").T} */ (later);\n'
    )
    (tmp_path / "a.js").write_text("export const a = 1;\n")
    (tmp_path / "ui" / "b.js").write_text('import { a } from "../a.js";\nexport const b1 = a;\n')
    (tmp_path / "c.js").write_text("")
    (tmp_path / "d.js").write_text("")
    (tmp_path / "lazy.js").write_text('import "./e.js";\n')
    (tmp_path / "e.js").write_text("")
    graph = ModuleGraph(tmp_path)
    assert graph.imports("app.js") == ["a.js", "ui/b.js", "c.js", "d.js"]
    assert graph.lazy_imports("app.js") == ["lazy.js"]
    assert graph.closure(["app.js"]) == ["app.js", "a.js", "ui/b.js", "c.js", "d.js"]
    assert graph.closure(["app.js"], lazy=True)[-2:] == ["lazy.js", "e.js"]
