"""The ASGI application: routes, error handling, static web client, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import WebSocketRoute

from peerlane.bus.base import Bus
from peerlane.bus.memory import MemoryBus
from peerlane.config import Settings
from peerlane.core import credentials
from peerlane.core.session import RoomDeleted, RoomEvent
from peerlane.errors import ErrorCode, PeerlaneError
from peerlane.files.local import LocalFileStore
from peerlane.files.store import FileStore
from peerlane.server import (
    api,
    logs,
    not_found,
    peerjs_http,
    room_files_api,
    shares_api,
    tus_api,
)
from peerlane.server import error_replies as replies
from peerlane.server.addresses import ForwardedMiddleware
from peerlane.server.connections import ConnectionRegistry
from peerlane.server.metrics import Metrics
from peerlane.server.middleware import HttpMiddleware
from peerlane.server.paths import RejectNulPaths
from peerlane.server.peerjs import PeerjsSockets, make_relay
from peerlane.server.services import Limiters, Services
from peerlane.server.static import StaticAssets
from peerlane.server.ws import Connection, RoomSockets
from peerlane.storage.base import Store

log = logs.get(__name__)
WEB = Path(__file__).resolve().parent.parent / "web"


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    bus: Bus | None = None,
    files: FileStore | None = None,
) -> FastAPI:
    if store is None:
        from peerlane.storage.sql import SqlStore

        store = SqlStore(settings.db_url)
    if bus is None:
        bus = MemoryBus()
        if settings.redis_url:
            from peerlane.bus.redis import RedisBus

            bus = RedisBus(settings.redis_url)
    if files is None:
        files = LocalFileStore(settings.files_path)
    metrics = Metrics()
    services = Services(
        settings=settings,
        store=store,
        bus=bus,
        metrics=metrics,
        limiters=Limiters.from_settings(settings, bus),
        files=files,
    )
    sockets = RoomSockets(services)
    peerjs = PeerjsSockets(services, make_relay(services)) if settings.peerjs_path else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await start(services)
        if peerjs is not None:
            await peerjs.start()
        cleanup = asyncio.create_task(run_cleanup(services, sockets.connections), name="cleanup")
        try:
            yield
        finally:
            cleanup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cleanup
            await sockets.drain()
            if peerjs is not None:
                await peerjs.stop()
            await services.bus.close()
            await services.store.close()

    app = FastAPI(
        title="peerlane",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.services = services
    app.state.sockets = sockets
    install_error_handlers(app, metrics)
    app.include_router(api.router)
    app.include_router(tus_api.tus_router)
    app.include_router(shares_api.router)
    app.include_router(room_files_api.router)
    app.add_api_websocket_route("/api/rooms/{room_id}/ws", sockets.endpoint)
    if peerjs is not None:
        app.state.peerjs = peerjs
        app.router.routes.append(WebSocketRoute(settings.peerjs_path + "/peerjs", peerjs))
        app.include_router(peerjs_http.router(services, peerjs))
    add_operations(app, services, sockets.connections)
    add_web(app)
    # Inside HttpMiddleware: logged, with its headers.
    app.add_middleware(RejectNulPaths, metrics=metrics)
    app.add_middleware(
        HttpMiddleware,
        metrics=metrics,
        tls=settings.https_public,
        max_body=settings.max_http_body_bytes,
    )
    # Outermost: everything inside sees the client the trusted proxies saw.
    app.add_middleware(ForwardedMiddleware, trust=settings.proxy_trust)
    return app


async def start(services: Services) -> None:
    """Migrate the database, connect the bus, and load (or create) the signing secret."""
    data_dir = services.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    await services.store.start()
    await services.files.start()
    await services.bus.start()
    configured = services.settings.secret
    if configured is not None:
        secret = configured.get_secret_value()
    else:
        secret = await services.store.get_or_set_meta("token_secret", credentials.new_secret())
    services.secret = secret.encode()
    quota = await services.start_storage_quota()
    log.info("files.storage_quota", bytes=quota, reserve=services.settings.storage_reserve_bytes)
    released = await services.uploads.release_dead_locks()
    if released:
        log.info("uploads.locks_released", uploads=released)
    services.metrics.rooms.set(await services.store.count_rooms())


async def run_cleanup(services: Services, connections: ConnectionRegistry[Connection]) -> None:
    interval = services.settings.cleanup_interval
    while True:
        await asyncio.sleep(interval)
        try:
            now = services.clock()
            live = connections.room_ids()
            await services.store.touch_rooms(live, now=now)
            report = await services.store.cleanup(now=now, invite_grace=3600.0)
            for room_id in report.deleted_rooms:  # anyone still connected elsewhere
                await services.bus.publish(RoomEvent(room_id, RoomDeleted()))
            services.metrics.rooms.set(await services.store.count_rooms())
            await cleanup_files(services)
            if report.messages_deleted or report.rooms_deleted or report.invites_released:
                log.info(
                    "cleanup",
                    messages=report.messages_deleted,
                    rooms=report.rooms_deleted,
                    invites=report.invites_released,
                )
        except Exception:  # a failed run must not stop later ones
            log.exception("cleanup.failed")


async def cleanup_files(services: Services) -> None:
    """Delete expired uploads and shares with their bytes, then any bytes no file row
    refers to any more (files of deleted rooms, leftovers of a crash)."""
    report = await services.store.cleanup_files(now=services.clock())
    for blob_id in report.blob_ids:
        await services.files.delete(blob_id)
    blob_ids = await services.files.blob_ids()
    known = await services.store.existing_file_ids(blob_ids)
    orphans = [blob_id for blob_id in blob_ids if blob_id not in known]
    for blob_id in orphans:
        await services.files.delete(blob_id)
    if report.uploads_expired or report.shares_expired or orphans:
        log.info(
            "cleanup.files",
            uploads=report.uploads_expired,
            shares=report.shares_expired,
            orphans=len(orphans),
        )


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(PeerlaneError)
    async def peerlane_error(request: Request, exc: PeerlaneError) -> JSONResponse:
        return replies.http_exception(metrics, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:3]:
            loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
            if err.get("type") == "json_invalid":
                return replies.http_error(metrics, ErrorCode.INVALID_JSON, status=400)
            parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
        message = "Invalid request: " + "; ".join(parts)
        return replies.http_error(metrics, ErrorCode.INVALID_MESSAGE, message, status=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})  # e.g. 405's Allow
        if exc.status_code == 404 and not_found.may_be_page(request):
            # A page or JSON by Accept: a cache must not give one client the other's.
            headers["vary"] = "Accept"
            if not_found.wants_page(request):
                replies.count(metrics, ErrorCode.NOT_FOUND, "http")
                return HTMLResponse(not_found.page_html(), status_code=404, headers=headers)
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.BAD_REQUEST}.get(
            exc.status_code, ErrorCode.BAD_REQUEST
        )
        message = "Method not allowed." if exc.status_code == 405 else None
        return replies.http_error(metrics, code, message, status=exc.status_code, headers=headers)


def add_operations(
    app: FastAPI, services: Services, connections: ConnectionRegistry[Connection]
) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            ready = await services.store.ready()
        except Exception:
            log.exception("readyz.failed")
            ready = False
        if ready and not connections.closing:
            return JSONResponse({"status": "ready"})
        return replies.http_error(services.metrics, ErrorCode.UNAVAILABLE, status=503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def add_web(app: FastAPI) -> None:
    """The browser client: static ES modules (served from memory), one HTML shell per kind
    of page."""
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

    def route(html: str) -> Callable[[], Awaitable[HTMLResponse]]:
        async def shell() -> HTMLResponse:
            return HTMLResponse(html, headers={"cache-control": "no-cache"})

        return shell

    async def join_shell(request: Request) -> HTMLResponse:
        html = join_shells[join_at_once(request)]
        return HTMLResponse(html, headers={"cache-control": "no-cache", "vary": "Sec-Fetch-Site"})

    for path, page in SHELL_ROUTES.items():
        app.add_api_route(path, route(shells[page]), methods=["GET"], include_in_schema=False)
    app.add_api_route("/join", join_shell, methods=["GET"], include_in_schema=False)
    if WEB.is_dir():
        app.mount("/static", StaticAssets(WEB), name="static")


# The client's entry module (index.html loads it) and, per kind of page, the module
# app.js loads with a dynamic import() to show it (src/peerlane/web/app.js).
ENTRY_MODULE = "app.js"
ROOM_PAGE = ("ui/room-page.js",)
JOIN_NOW = "join-now.js"  # the /join page's join at once, run by a script of its own
JOIN_POLICY_META = "peerlane:join"  # at-once | ask: may the join page join at once?


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
}
SHELL_ROUTES = {  # and /join (join_shell)
    "/": "home",
    "/r/{room_id}": "room",
    "/share": "share",
    "/s": "share",
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
            source = (self.root / module).read_text(encoding="utf-8")
            base = PurePosixPath(module).parent
            found: tuple[list[str], list[str]] = ([], [])
            code = _COMMENTS.sub("", source)
            for kind, specs in enumerate(
                (_STATIC_IMPORT.findall(source), _DYNAMIC_IMPORT.findall(code))
            ):
                for spec in specs:
                    if not spec.startswith((".", "/")):
                        raise ValueError(f"{module}: bare import {spec!r} (no bundler here)")
                    found[kind].append(_normalize(base / spec))
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
    index = (WEB / "index.html").read_text()
    first = "".join(
        f'  <meta name="{name}" content="{content}">\n' for name, content in (meta or {}).items()
    )
    if early:
        script, *graph = early
        first += f'  <script type="module" async src="/static/{script}"></script>\n'
        first += "".join(_preload(m) for m in graph)
        modules = [m for m in modules if m not in early]
    head = "".join(_preload(m) for m in modules)
    for name, listed in (("next", following), ("later", later)):
        if listed:
            content = " ".join(f"/static/{m}" for m in listed)
            head += f'  <meta name="peerlane:{name}" content="{content}">\n'
    stylesheet = '  <link rel="stylesheet"'
    if stylesheet not in index:
        raise ValueError("index.html must link its stylesheet (the early scripts go before it)")
    index = index.replace(stylesheet, first + stylesheet, 1)
    return index.replace("</head>", head + "</head>", 1)


def _preload(module: str) -> str:
    return f'  <link rel="modulepreload" href="/static/{module}">\n'
