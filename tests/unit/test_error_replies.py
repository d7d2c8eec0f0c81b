"""One error builder: every error the server sends has the one shape and is counted once
in ``peerlane_errors_total``, whichever layer answers (handler, middleware, NUL paths)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from peerlane.config import load_settings
from peerlane.server.app import create_app

SRC = Path(__file__).resolve().parents[2] / "src" / "peerlane"


async def test_each_error_is_one_shape_and_counted_once(tmp_path: Path) -> None:
    app = create_app(load_settings(data_dir=tmp_path, max_http_body_bytes=1024))
    registry = app.state.services.metrics.registry

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    def errors(code: str) -> float:
        labels = {"code": code, "transport": "http"}
        return registry.get_sample_value("peerlane_errors_total", labels) or 0.0

    cases = [
        ("GET", "/api/no/such/thing", {}, 404, "not_found"),  # a route handler's error
        ("GET", "/no/such/page", {"accept": "text/html"}, 404, "not_found"),  # the page
        ("GET", "/api/rooms/a%00b", {}, 404, "not_found"),  # before routing
        ("POST", "/api/rooms", {"content-length": "5000"}, 413, "message_too_large"),
        ("POST", "/api/rooms", {"content-type": "application/json"}, 400, "invalid_json"),
        ("POST", "/healthz", {}, 405, "bad_request"),
        ("GET", "/api/boom", {}, 500, "internal_error"),  # caught by the middleware
    ]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, path, headers, status, code in cases:
            before = errors(code)
            body = "x" * 5000 if "content-length" in headers else "{"
            r = await client.request(method, path, headers=headers, content=body)
            assert r.status_code == status, (path, r.text)
            assert r.headers["x-request-id"], path
            if r.headers["content-type"].startswith("application/json"):
                assert set(r.json()) == {"error"}, path
                assert r.json()["error"]["code"] == code, path
                assert r.json()["error"]["message"], path
            assert errors(code) == before + 1, (path, code)


def test_only_the_builder_counts_errors() -> None:
    """No module but server/error_replies.py increments the errors metric or builds the
    error body itself."""
    builders = {"server/error_replies.py", "errors.py", "core/protocol.py"}
    for path in SRC.rglob("*.py"):
        name = path.relative_to(SRC).as_posix()
        text = path.read_text()
        if name != "server/error_replies.py":
            assert not re.search(r"errors\.labels\(", text), name
        if name not in builders and not name.startswith("core/"):
            assert "error_body(" not in text, name
