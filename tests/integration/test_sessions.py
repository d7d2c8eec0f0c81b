"""Sessions that can be ended, and secrets kept out of logs and insecure transports
(issue #9, findings 7 and 8), against real server processes."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from support import ServerProcess

StartServer = Callable[..., ServerProcess]


def cookie_attributes(response: httpx.Response) -> dict[str, str]:
    (header,) = response.headers.get_list("set-cookie")
    _, *rest = (part.strip() for part in header.split(";"))
    return {key.lower(): value for key, _, value in (p.partition("=") for p in rest)}


# -- behind a TLS proxy -------------------------------------------------------------------


def test_https_public_url_makes_the_cookie_secure_and_sends_hsts(start_server: StartServer, client):
    """A TLS proxy that is not trusted (no --trust-proxy) forwards plain HTTP; with an
    https public URL the cookie must still be Secure and HSTS on."""
    http = client(start_server(public_url="https://chat.example.org"))
    r = http.post("/api/rooms", json={"display_name": "alice", "session": "cookie"})
    assert r.status_code == 201, r.text
    assert "secure" in cookie_attributes(r)
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert http.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    room = r.json()["room"]["id"]
    # The client keeps a Secure cookie to itself over http: send it as the proxy would.
    cookie = r.headers["set-cookie"].split(";", 1)[0]
    headers = {"origin": "https://chat.example.org", "cookie": cookie}
    r = http.delete(f"/api/rooms/{room}/session", headers=headers)
    assert r.status_code == 204, r.text
    assert "secure" in cookie_attributes(r)  # the clearing cookie matches the one set


def test_plain_http_public_url_sends_no_hsts(start_server: StartServer, client):
    http = client(start_server(public_url="http://chat.example.org"))
    r = http.post("/api/rooms", json={"display_name": "alice", "session": "cookie"})
    assert "secure" not in cookie_attributes(r)
    assert "strict-transport-security" not in r.headers
