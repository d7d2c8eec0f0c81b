"""The browser client's pages: the static ES modules (served from memory) and one HTML
shell per kind of page, each preloading the modules its page needs (a module graph read
from the sources at start).

The shells load the files from ``/app/<version>/`` (immutable, server/static.py): each
shell is made once, with a slot for the version, filled per request with the version of
the files as they are on disk then."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from peerlane.errors import ConfigError
from peerlane.server import import_map
from peerlane.server.pwa import ASSETS_MOUNT, add_pwa, asset_prefix
from peerlane.server.static import StaticAssets, VersionedAssets

WEB = Path(__file__).resolve().parent.parent / "web"
# The npm packages' modules (web/vendor) load by their stable URLs, as the import map
# names them: not by this version's, which the browser would fetch a second time.
STABLE = "/static/"


def add_web(app: FastAPI) -> None:
    """The browser client: static ES modules (served from memory), one HTML shell per kind
    of page."""
    assets = StaticAssets(WEB)
    graph = ModuleGraph(WEB)
    entry = graph.closure([ENTRY_MODULE])
    shells = {}
    room_first = [m for m in graph.closure(list(ROOM_PAGE)) if m not in entry]
    room_later = [
        m for m in graph.closure(list(ROOM_PAGE), lazy=True) if m not in entry + room_first
    ]
    join_shells: dict[bool, str] = {}
    for page, roots in PAGE_MODULES.items():
        # A page's graph: app.js's static one, and its own module's, lazy imports included.
        modules = entry + [m for m in graph.closure(list(roots), lazy=True) if m not in entry]
        if page == "home":
            # The home page leads to the room page: it loads its modules once shown,
            # what the room needs to connect first.
            shells[page] = shell_html(modules, following=room_first, later=room_later)
        elif page == "join":
            # The same, and an invite link the person opened themselves joins as the page
            # loads (join-now.js, run at once by a script of its own), with a remembered
            # name; one followed from another site asks first. One shell for each.
            for at_once in (True, False):
                join_shells[at_once] = shell_html(
                    modules,
                    following=room_first,
                    later=room_later,
                    early=graph.closure([JOIN_NOW]),
                    meta={JOIN_POLICY_META: "at-once" if at_once else "ask"},
                )
        else:
            shells[page] = shell_html(modules, following=[], later=[])

    def respond(html: str, **headers: str) -> HTMLResponse:
        # Revalidated on every use: the page names the version its files come from.
        filled = html.replace(VERSION_SLOT, assets.version())
        return HTMLResponse(filled, headers={"cache-control": "no-cache", **headers})

    def route(html: str) -> Callable[[], Awaitable[HTMLResponse]]:
        async def shell() -> HTMLResponse:
            return respond(html)

        return shell

    async def join_shell(request: Request) -> HTMLResponse:
        return respond(join_shells[join_at_once(request)], vary="Sec-Fetch-Site")

    for path, kind in SHELL_ROUTES.items():
        app.add_api_route(path, route(shells[kind]), methods=["GET"], include_in_schema=False)
    app.add_api_route("/join", join_shell, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_MOUNT, VersionedAssets(assets), name="app")
    app.mount("/static", assets, name="static")
    # The service worker (/sw.js): its version covers the files and every shell.
    add_pwa(app, assets, [*shells.values(), *join_shells.values()], WEB)


# The client's entry module (index.html loads it) and, per kind of page, the module
# app.js loads with a dynamic import() to show it (src/peerlane/web/app.js).
ENTRY_MODULE = "app.js"
ROOM_PAGE = ("ui/room-page.js",)
JOIN_NOW = "join-now.js"  # the /join page's join at once, run by a script of its own
JOIN_POLICY_META = "peerlane:join"  # at-once | ask: may the join page join at once?
# Where a shell names the files' version, filled per request (add_web's page()).
VERSION_SLOT = "@files-version@"
VERSIONED = asset_prefix(VERSION_SLOT)
# index.html's links that keep their stable /static/ name: the manifest (the installed
# app is known by its URL; it is revalidated, not immutable).
_VERSIONED_LINK = re.compile(r'((?:src|href)=")/static/(?!manifest\.webmanifest")')


def join_at_once(request: Request) -> bool:
    """May the invite link this request opens join at once (with a remembered name)?
    Only if the person opened it themselves: typed or pasted into the address bar, or
    opened from a bookmark, a QR code or another app (``Sec-Fetch-Site: none``), or
    followed from a peerlane page (``same-origin``). A page of another site could
    otherwise open a link to its own room in a new tab and have a returning visitor
    join it, name and all, without a click. Without the header (an old browser): ask.
    """
    return request.headers.get("sec-fetch-site") in ("none", "same-origin")


PAGE_MODULES: dict[str, tuple[str, ...]] = {
    "home": (),  # the home and join pages: in app.js's static imports
    "join": (),
    "room": ROOM_PAGE,
    "share": ("ui/share-page.js", "ui/share-download-page.js"),
    "diagnostics": ("ui/diagnostics-page.js",),
}
SHELL_ROUTES = {  # and /join (join_shell)
    "/": "home",
    "/r/{room_id}": "room",
    "/share": "share",
    "/s": "share",
    "/diagnostics": "diagnostics",
}

# A static import: `import x from "./a.js";`, `import {a, b} from "./a.js";` (over several
# lines too) or `import "./a.js";`, at the start of a line.
_STATIC_IMPORT = re.compile(
    r"""^import\s*(?:[\w*{}\s,$]+?\s*from\s*)?["']([^"']+)["']\s*;?""", re.MULTILINE
)
# A dynamic import, `import("./a.js")`, once JSDoc comments (whose types say
# `{import("./a.js").T}`) and whole-line // comments are taken out.
_DYNAMIC_IMPORT = re.compile(r"""(?<![\w.$])import\(\s*["']([^"']+)["']\s*\)""")
_COMMENTS = re.compile(r"/\*\*.*?\*/|^[ \t]*//[^\n]*", re.DOTALL | re.MULTILINE)


class ModuleGraph:
    """The import graph of the client's ES modules, read from their source: static
    imports, and the lazy ones (``import()``) apart."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._imports: dict[str, tuple[list[str], list[str]]] = {}

    def _read(self, module: str) -> tuple[list[str], list[str]]:
        if module not in self._imports:
            path = self.root / module.removeprefix(STABLE)
            try:
                source = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                if not module.removeprefix(STABLE).startswith("vendor/"):
                    raise
                raise ConfigError(
                    message=f"The browser's npm packages are missing ({path} not found): run "
                    "`make node-deps` in the source checkout, which installs them and copies "
                    "them into src/peerlane/web/vendor (a wheel or image built before that "
                    "lacks them)."
                ) from None
            found: tuple[list[str], list[str]] = ([], [])
            code = _COMMENTS.sub("", source)
            for kind, specs in enumerate(
                (_STATIC_IMPORT.findall(source), _DYNAMIC_IMPORT.findall(code))
            ):
                found[kind].extend(_resolve(module, spec) for spec in specs)
            self._imports[module] = found
        return self._imports[module]

    def imports(self, module: str) -> list[str]:
        """The modules ``module`` imports statically (paths relative to the root)."""
        return self._read(module)[0]

    def lazy_imports(self, module: str) -> list[str]:
        """The modules ``module`` loads with ``import()``."""
        return self._read(module)[1]

    def closure(self, modules: list[str], *, lazy: bool = False) -> list[str]:
        """``modules`` and everything they import, transitively (with ``lazy``, also
        what they load with ``import()``). Breadth first, and what the static imports
        bring before what the lazy ones do: the order to fetch them in."""
        seen: list[str] = []
        level = list(modules)
        while level:
            later: list[str] = []
            while level:
                module = level.pop(0)
                if module in seen:
                    continue
                seen.append(module)
                level.extend(self.imports(module))
                if lazy:
                    later.extend(self.lazy_imports(module))
            level = later
        return seen


def _resolve(module: str, spec: str) -> str:
    """The module ``spec`` names, imported by ``module``: a path in the web folder, or for
    an npm package (a bare specifier, through the import map) its stable ``/static/`` URL,
    the URL the browser keys it by (its own relative imports stay under it)."""
    if spec.startswith((".", "/")):
        if module.startswith(STABLE):
            return STABLE + _normalize(PurePosixPath(module.removeprefix(STABLE)).parent / spec)
        return _normalize(PurePosixPath(module).parent / spec)
    url = import_map.resolve(spec)
    if url is None or not url.startswith(STABLE):
        raise ValueError(f"{module}: bare import {spec!r} not in server/import_map.py")
    return url


def _normalize(path: PurePosixPath) -> str:
    """``ui/../api.js`` → ``api.js`` (import specifiers are relative to their module)."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                raise ValueError(f"import outside the web folder: {path}")
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def shell_html(
    modules: list[str],
    *,
    following: list[str],
    later: list[str],
    early: Sequence[str] = (),
    meta: Mapping[str, str] | None = None,
) -> str:
    """index.html with a ``modulepreload`` link per module of the page's import graph,
    and the modules of the page that comes next: the ones it needs first
    (``following``, in ``<meta name="peerlane:next">``) and the rest (``later``, in
    ``<meta name="peerlane:later">``).

    Without the links the browser discovers the modules one import level at a time (the
    graph is several levels deep); with them it fetches them all at once. Only the
    page's own modules: the home and join pages need a handful, and preloading the
    room's (most of the client) made their first render wait. app.js preloads the
    next page's modules once the page is on screen (docs/web-client.md,
    docs/benchmarks.md).

    ``early`` is a module and its import graph that must run first: an async module
    script of its own, which runs as soon as its (small) graph has arrived rather than
    after the whole page's, and its links at the top of the head. Order matters: over
    HTTP/1.1 a browser fetches 6 files at a time from one server, in document order.
    ``meta`` are ``<meta name content>`` for the page's scripts, ahead of them.
    """
    index = _VERSIONED_LINK.sub(rf"\1{VERSIONED}", (WEB / "index.html").read_text())
    first = "".join(
        f'  <meta name="{name}" content="{content}">\n' for name, content in (meta or {}).items()
    )
    if early:
        script, *graph = early
        first += f'  <script type="module" async src="{VERSIONED}{script}"></script>\n'
        first += "".join(_preload(m) for m in graph)
        modules = [m for m in modules if m not in early]
    head = "".join(_preload(m) for m in modules)
    for name, listed in (("next", following), ("later", later)):
        if listed:
            content = " ".join(_href(m) for m in listed)
            head += f'  <meta name="peerlane:{name}" content="{content}">\n'
    stylesheet = '  <link rel="stylesheet"'
    if stylesheet not in index:
        raise ValueError("index.html must link its stylesheet (the early scripts go before it)")
    index = index.replace(stylesheet, first + stylesheet, 1)
    return index.replace("</head>", head + "</head>", 1)


def _href(module: str) -> str:
    """Where a shell loads a module: this version's files, or a package's stable URL."""
    return module if module.startswith(STABLE) else VERSIONED + module


def _preload(module: str) -> str:
    return f'  <link rel="modulepreload" href="{_href(module)}">\n'
