"""Prometheus metrics, one registry per app so several apps can live in one test process."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        # WebSocket bytes out, not yet in server_bytes: a plain addition per frame on the
        # chat fan-out's hot path, where the counter's lock cost ~1 µs per frame. Added
        # to the counter before every scrape (settle()).
        self.websocket_bytes_unsettled = 0
        self.connections = Gauge(
            "peerlane_websocket_connections", "Open WebSocket connections", registry=r
        )
        self.rooms = Gauge("peerlane_rooms", "Rooms in storage (updated by cleanup)", registry=r)
        self.messages = Counter(
            "peerlane_messages_relayed", "Chat messages stored and fanned out", registry=r
        )
        self.signals = Counter("peerlane_signals_relayed", "WebRTC signaling relayed", registry=r)
        self.errors = Counter(
            "peerlane_errors", "Errors sent to clients, by code", ["code", "transport"], registry=r
        )
        self.peerjs_connections = Gauge(
            "peerlane_peerjs_connections", "Open PeerJS sockets holding an id", registry=r
        )
        self.peerjs_relayed = Counter(
            "peerlane_peerjs_frames_relayed", "PeerJS frames relayed or queued", registry=r
        )
        self.peerjs_expired = Counter(
            "peerlane_peerjs_expired",
            "PeerJS EXPIRE frames sent for queues that expired",
            registry=r,
        )
        self.peerjs_refused = Counter(
            "peerlane_peerjs_refused",
            "PeerJS sockets or frames refused, by reason",
            ["reason"],
            registry=r,
        )
        self.latency = Histogram(
            "peerlane_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        # What the server carries itself, against what clients move peer to peer below.
        self.server_bytes = Counter(
            "peerlane_server_bytes",
            "Bytes the server carried: upload (tus bodies in), download (files out), "
            "websocket (frames out: relayed chat, signaling, presence)",
            ["kind"],
            registry=r,
        )
        # From client reports (POST /api/rooms/{id}/telemetry, core/telemetry.py).
        self.client_attempts = Counter(
            "peerlane_client_connect_attempts",
            "Peer connection attempts clients reported, by client, path and outcome",
            ["client", "path", "outcome"],
            registry=r,
        )
        self.client_failures = Counter(
            "peerlane_client_connect_failures",
            "Failed peer connection attempts clients reported, by reason",
            ["client", "reason"],
            registry=r,
        )
        self.client_connect_seconds = Histogram(
            "peerlane_client_connect_seconds",
            "Time to connect clients reported, by path",
            ["path"],
            registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60),
        )
        self.client_bytes = Counter(
            "peerlane_client_bytes",
            "Bytes clients reported moving, by path and direction",
            ["path", "direction"],
            registry=r,
        )
        self.client_error_kinds = Counter(
            "peerlane_client_errors",
            "Uncaught errors clients reported, by client and kind",
            ["client", "kind"],
            registry=r,
        )

    def settle(self) -> None:
        """Add the WebSocket bytes counted since the last call to ``server_bytes``."""
        if self.websocket_bytes_unsettled:
            self.server_bytes.labels("websocket").inc(self.websocket_bytes_unsettled)
            self.websocket_bytes_unsettled = 0
