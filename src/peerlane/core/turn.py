"""Time-limited TURN credentials for coturn's ``use-auth-secret`` mode.

The scheme of draft-uberti-behave-turn-rest-00 §2.2, which coturn implements: the
username is ``<expiry timestamp>:<user>`` and the password is
``base64(HMAC-SHA1(shared secret, username))``. The TURN server checks both without
talking to peerlane; the credentials stop working at the expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from peerlane.core.protocol import IceServer


def turn_credentials(secret: str, user: str, *, now: float, ttl: float) -> tuple[str, str]:
    username = f"{int(now + ttl)}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(
    static: list[dict[str, object]],
    turn_urls: list[str],
    turn_secret: str | None,
    *,
    user: str,
    now: float,
    ttl: float = 12 * 3600,
) -> list[IceServer]:
    """The ICE configuration a peer gets in ``welcome``: configured servers plus TURN."""
    servers = [IceServer.model_validate(s) for s in static]
    if turn_urls and turn_secret:
        username, credential = turn_credentials(turn_secret, user, now=now, ttl=ttl)
        servers.append(IceServer(urls=turn_urls, username=username, credential=credential))
    return servers
