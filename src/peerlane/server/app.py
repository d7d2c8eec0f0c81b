"""The ASGI application: routes, error handling, static web client, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

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
    diagnostics_api,
    invites_api,
    keys_api,
    logs,
    not_found,
    peerjs_http,
    room_files_api,
    shares_api,
    telemetry_api,
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
from peerlane.server.web_pages import add_web
from peerlane.server.ws import RoomSockets
from peerlane.server.ws_connection import Connection
from peerlane.storage.base import Store

log = logs.get(__name__)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    bus: Bus | None = None,
    files: FileStore | None = None,
) -> FastAPI:
    if store is None:
        from peerlane.storage.sql import SqlStore

        store = SqlStore(
            settings.db_url,
            connect_timeout=settings.backend_connect_timeout,
            command_timeout=settings.backend_command_timeout,
        )
    if bus is None:
        bus = MemoryBus()
        if settings.redis_url:
            from peerlane.bus.redis import RedisBus

            bus = RedisBus(
                settings.redis_url,
                presence_ttl=settings.presence_ttl,
                connect_timeout=settings.backend_connect_timeout,
                command_timeout=settings.backend_command_timeout,
            )
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
        await sockets.pake.start()
        if peerjs is not None:
            await peerjs.start()
        cleanup = asyncio.create_task(run_cleanup(services, sockets.connections), name="cleanup")
        tasks = [cleanup]
        interval = services.settings.turn_check_interval
        if services.turn_health.providers and interval > 0:
            checks = services.turn_health.run(interval)
            tasks.append(asyncio.create_task(checks, name="turn-health"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await sockets.drain()
            await sockets.pake.close()
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
    app.include_router(invites_api.router)
    app.include_router(keys_api.router)
    app.include_router(tus_api.tus_router)
    app.include_router(shares_api.router)
    app.include_router(room_files_api.router)
    app.include_router(telemetry_api.router)
    app.include_router(diagnostics_api.router)
    app.add_api_websocket_route("/api/rooms/{room_id}/ws", sockets.endpoint)
    app.add_api_websocket_route("/api/join/ws", sockets.pake.endpoint)
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
        # Not ready while PostgreSQL or Redis is down, so a load balancer's health
        # check takes the instance out until it has them back (it reconnects by itself).
        try:
            ready = await services.store.ready() and await services.bus.ready()
        except Exception:
            log.exception("readyz.failed")
            ready = False
        if ready and not connections.closing:
            # TURN health is detail only: an instance without TURN still serves chat.
            detail: dict[str, object] = {"status": "ready", "instance": services.bus.instance}
            if services.turn_health.providers:
                detail["turn"] = services.turn_health.detail()
            return JSONResponse(detail)
        return replies.http_error(services.metrics, ErrorCode.UNAVAILABLE, status=503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        services.metrics.settle()
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
