"""The PeerJS endpoint's HTTP routes, under ``peerjs_path``.

As peerjs-server: ``GET /`` (what this server is), ``GET /<key>/id`` (a fresh id, as
text), ``GET /<key>/peers`` (the ids connected under the key, only with
``peerjs_allow_discovery``; else 401). Beyond it: ``GET /<key>/ice`` (an
RTCConfiguration with TURN credentials, for ``new Peer({config})``) and
``POST /<key>/token`` (a signed token for an id, for app back-ends that hold
``peerjs_token_secret``). The browser routes answer any origin (CORS ``*``, no
credentials), as peerjs-server's do.
"""

from __future__ import annotations

import hmac
import time
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from peerlane.core import peerjs as core
from peerlane.errors import ErrorCode
from peerlane.server import error_replies as replies
from peerlane.server.addresses import client_address
from peerlane.server.peerjs import PeerjsSockets
from peerlane.server.services import Services

CORS = {"access-control-allow-origin": "*", "cache-control": "no-store"}
INFO = {
    "name": "PeerJS Server",
    "description": "A server side element to broker connections between PeerJS clients.",
    "website": "https://peerjs.com/",
    "implementation": "peerlane",
}


class TokenRequest(BaseModel):
    id: str = Field(min_length=1, max_length=core.MAX_PARAM_CHARS)
    ttl: float = Field(3600.0, gt=0, le=30 * 86_400)


def router(services: Services, sockets: PeerjsSockets) -> APIRouter:
    s = services.settings
    metrics = services.metrics
    routes = APIRouter(prefix=s.peerjs_path, include_in_schema=False)
    keys = frozenset(s.peerjs_keys)

    def bad_key() -> Response:
        return replies.http_error(
            metrics, ErrorCode.UNAUTHORIZED, "Unknown PeerJS key.", headers=CORS
        )

    async def limited(request: Request) -> Response | None:
        address = client_address(request, s)
        wait = await sockets.connect_limit.take(address, time.time())
        if wait is None:
            return None
        headers = {**CORS, "retry-after": str(max(1, round(wait)))}
        return replies.http_error(metrics, ErrorCode.RATE_LIMITED, headers=headers)

    @routes.get("/")
    async def info() -> Response:
        return JSONResponse(INFO, headers=CORS)

    @routes.get("/{key}/id")
    async def new_id(key: str, request: Request) -> Response:
        if key not in keys:
            return bad_key()
        refusal = await limited(request)
        if refusal is not None:
            return refusal
        return PlainTextResponse(str(uuid.uuid4()), headers=CORS)

    @routes.get("/{key}/peers")
    async def peers(key: str) -> Response:
        if key not in keys:
            return bad_key()
        if not s.peerjs_allow_discovery:
            message = "Peer discovery is off on this server (peerjs-allow-discovery)."
            return replies.http_error(metrics, ErrorCode.UNAUTHORIZED, message, headers=CORS)
        return JSONResponse(await sockets.relay.peer_ids(key, now=time.time()), headers=CORS)

    @routes.get("/{key}/ice")
    async def ice(key: str, request: Request, id: str = "", token: str = "") -> Response:
        if key not in keys:
            return bad_key()
        if s.peerjs_token_secret is not None and not (id and sockets.check_token(key, id, token)):
            message = "TURN credentials need the id and token your app gave this peer."
            return replies.http_error(metrics, ErrorCode.UNAUTHORIZED, message, headers=CORS)
        refusal = await limited(request)
        if refusal is not None:
            return refusal
        servers = services.ice_servers(id or "peerjs")
        body = {"iceServers": [server.model_dump(exclude_none=True) for server in servers]}
        return JSONResponse(body, headers=CORS)

    @routes.post("/{key}/token")
    async def token(key: str, body: TokenRequest, request: Request) -> Response:
        if key not in keys:
            return bad_key()
        secret = s.peerjs_token_secret
        if secret is None:
            message = "This server issues no PeerJS tokens (peerjs-token-secret is unset)."
            return replies.http_error(metrics, ErrorCode.NOT_FOUND, message)
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        expected = secret.get_secret_value()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return replies.http_error(metrics, ErrorCode.UNAUTHORIZED)
        expires = int(time.time() + body.ttl)
        issued = core.issue_token(expected.encode(), key, body.id, expires=expires)
        return JSONResponse({"id": body.id, "token": issued, "expires": expires})

    return routes
