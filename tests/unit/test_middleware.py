"""HTTP middleware in-process: unexpected failures still get the one error shape, the
security headers and a request id, and never leak the exception text."""

from __future__ import annotations

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


async def test_the_shell_preloads_every_client_module(tmp_path: Path) -> None:
    """The page links every module of its import graph, so the browser fetches them in
    parallel instead of one import level at a time."""
    from peerlane.server.app import WEB

    app = create_app(load_settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        html = (await client.get("/join")).text
        modules = [p.relative_to(WEB).as_posix() for p in WEB.rglob("*.js")]
        for module in modules:
            if module in ("opfs-worker.js", "ui/types.js"):
                continue
            assert f'<link rel="modulepreload" href="/static/{module}">' in html
            assert (await client.get(f"/static/{module}")).status_code == 200
    assert '<script type="module" src="/static/app.js"></script>' in html
    assert "<script>" not in html  # still no inline script (CSP)
