"""The /diagnostics page's API: the probes it runs (STUN and TURN with fresh credentials,
named as `peerlane doctor` names them), limited per address; the verdict in the doctor's
words (core/net_verdict.py); bad input refused in the one error shape; the page's shell."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from support import ServerProcess, assert_error

StartServer = Callable[..., ServerProcess]
Client = Callable[[ServerProcess], httpx.Client]


def test_probes_name_each_url_and_carry_turn_credentials(
    start_server: StartServer, client: Client
) -> None:
    server = start_server(
        ice_servers=json.dumps(
            [{"urls": ["stun:stun.example.org:3478", "stun:s2.example.org:19302"]}]
        ),
        turn_urls="turn:t.example:3478?transport=udp,turns:t.example:5349",
        turn_secret="s3cret",
        telemetry="false",
    )
    body = client(server).get("/api/diagnostics").json()
    assert body["telemetry"] is False
    assert body["ice_servers"] == 2
    by_label = {p["label"]: p for p in body["probes"]}
    assert set(by_label) == {
        "STUN UDP stun.example.org:3478",
        "STUN UDP s2.example.org:19302",
        "TURN UDP t.example:3478",
        "TURN TLS t.example:5349",
    }
    assert by_label["STUN UDP stun.example.org:3478"]["username"] is None
    turn = by_label["TURN TLS t.example:5349"]
    assert (turn["kind"], turn["url"]) == ("turn", "turns:t.example:5349")
    assert turn["username"].endswith(":diagnostics")
    assert turn["credential"]


def test_probes_are_limited_per_address(start_server: StartServer, client: Client) -> None:
    server = start_server(rooms_per_hour=2)
    http = client(server)
    assert http.get("/api/diagnostics").status_code == 200
    assert http.get("/api/diagnostics").status_code == 200
    assert_error(http.get("/api/diagnostics"), 429, "rate_limited")
    # a bucket of its own: creating a room still works
    assert http.post("/api/rooms", json={"display_name": "ann"}).status_code == 201


def test_the_verdict_is_the_doctors(start_server: StartServer, client: Client) -> None:
    http = client(start_server())
    checks = [
        {"name": "webrtc", "ok": True, "detail": "RTCPeerConnection"},
        {"name": "server", "ok": True, "detail": "reached"},
        {"name": "STUN UDP s:3478", "ok": False, "detail": "no reflexive candidate"},
        {"name": "TURN UDP t:3478", "ok": False, "detail": "no relay candidate"},
        {"name": "TURN TCP t:3478", "ok": True, "detail": "relay candidate 203.0.113.9:50000"},
    ]
    r = http.post(
        "/api/diagnostics/verdict",
        json={"checks": checks, "ice_servers": 2, "mapped": {"STUN UDP s:3478": None}},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["verdict"] == "turn"
    assert got["verdict_text"].startswith("Direct connections to other networks will likely fail")
    assert got["nat_mapping"] == "unknown"
    assert got["advice"][0].startswith("STUN does not answer over UDP")
    assert got["report"][0] == "PASS  webrtc: RTCPeerConnection"
    assert f"==>   {got['verdict_text']}" in got["report"]


def test_bad_verdict_input_is_refused_clearly(start_server: StartServer, client: Client) -> None:
    http = client(start_server())
    for bad in (
        {"checks": [], "ice_servers": -1},
        {"checks": [{"name": "x", "ok": True, "detail": "d" * 301}], "ice_servers": 0},
        {"checks": [{"name": "x", "ok": True}] * 41, "ice_servers": 0},
        {"checks": [], "ice_servers": 0, "extra": 1},
    ):
        assert_error(http.post("/api/diagnostics/verdict", json=bad), 422, "invalid_message")


def test_the_page_is_served(start_server: StartServer, client: Client) -> None:
    r = client(start_server()).get("/diagnostics")
    assert r.status_code == 200
    assert "ui/diagnostics-page.js" in r.text
