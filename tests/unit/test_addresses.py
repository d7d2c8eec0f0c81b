"""The forwarded-headers middleware and client_address, on a real ASGI app."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from peerlane.config import Settings
from peerlane.server.addresses import ForwardedMiddleware, client_address


def app_for(settings: Settings) -> ForwardedMiddleware:
    async def who(request: Request) -> JSONResponse:
        return JSONResponse(
            {"key": client_address(request, settings), "scheme": request.url.scheme}
        )

    return ForwardedMiddleware(Starlette(routes=[Route("/", who)]), trust=settings.proxy_trust)


async def ask(settings: Settings, peer: str, **headers: str) -> dict[str, str]:
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    transport = httpx.ASGITransport(app=app_for(settings), client=(peer, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return (await http.get("/", headers=headers)).json()


async def test_no_proxy_by_default_the_header_is_the_clients_word() -> None:
    got = await ask(Settings(), "192.0.2.1", x_forwarded_for="203.0.113.7")
    assert got == {"key": "192.0.2.1", "scheme": "http"}


async def test_trust_proxy_is_one_hop_and_ignores_the_spoofed_entry() -> None:
    settings = Settings(trust_proxy=True)
    assert settings.proxy_trust.hops == 1
    got = await ask(
        settings,
        "127.0.0.1",
        x_forwarded_for="203.0.113.7, 198.51.100.9",
        x_forwarded_proto="https",
    )
    assert got == {"key": "198.51.100.9", "scheme": "https"}


async def test_listed_proxies_only() -> None:
    settings = Settings(trusted_proxies=["127.0.0.0/8"])
    header = {"x_forwarded_for": "203.0.113.7, 198.51.100.9, 127.0.0.5"}
    assert (await ask(settings, "127.0.0.1", **header))["key"] == "198.51.100.9"
    # Not from a listed proxy: the header is ignored, the scheme too.
    got = await ask(settings, "192.0.2.1", x_forwarded_proto="https", **header)
    assert got == {"key": "192.0.2.1", "scheme": "http"}


async def test_ipv6_clients_share_their_64() -> None:
    settings = Settings(trusted_proxy_hops=1)
    a = await ask(settings, "::1", x_forwarded_for="2001:db8:5:6::1")
    b = await ask(settings, "::1", x_forwarded_for="2001:db8:5:6:ffff::2")
    assert a["key"] == b["key"] == "2001:db8:5:6::/64"


def test_settings_refuse_bad_networks_and_two_rules() -> None:
    with pytest.raises(ValueError, match="CIDR"):
        Settings(trusted_proxies=["10.0.0.0/33"])
    with pytest.raises(ValueError, match="exclude each other"):
        Settings(trusted_proxy_hops=1, trusted_proxies=["10.0.0.0/8"])
    assert Settings(trusted_proxies="10.0.0.1, fd00::/8").trusted_proxies == [
        "10.0.0.1",
        "fd00::/8",
    ]
