"""Server settings: one field per option, each also read from ``PEERLANE_<NAME>``.

``peerlane serve --help`` and docs/configuration.md are both derived from this class
(a test checks the doc lists every field), so a new option is added here only.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from peerlane.core.addresses import ProxyTrust
from peerlane.core.protocol import IceServer
from peerlane.core.turn import DEFAULT_TTL, TurnProvider, check_unique_names
from peerlane.errors import ConfigError

DAY = 86_400.0
GIB = 1024**3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PEERLANE_", extra="forbid", validate_default=True, frozen=True
    )

    # -- network --
    profile: Literal["local", "lan", "internet"] = Field(
        "local",
        description="Where the server runs: local (this computer), lan (devices on the same "
        "network) or internet (anyone, behind a TLS proxy); --check-config and the start-up "
        "checks judge the other settings for it (docs/deployment.md).",
    )
    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for the LAN).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on (0 = any free).")
    public_url: str | None = Field(
        None,
        description="Base URL used in invite links and QR codes "
        "(default: derived from each request's Host); an https URL also makes session "
        "cookies Secure and turns on HSTS.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra browser origins allowed to use session cookies "
        "(comma-separated; the server's own origin is always allowed).",
    )
    trust_proxy: bool = Field(
        False,
        description="Behind one proxy: the same as --trusted-proxy-hops 1 (kept for "
        "compatibility; ignored when trusted-proxy-hops or trusted-proxies is set).",
    )
    trusted_proxy_hops: int = Field(
        0,
        ge=0,
        le=16,
        description="Proxies in front of the server that append to X-Forwarded-For: the "
        "client is the address the outermost one saw (0: no proxy, the socket's peer).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of your proxies (comma-separated): only a "
        "peer among them is believed, and the client is the right-most X-Forwarded-For "
        "entry outside them. Excludes trusted-proxy-hops.",
    )
    ipv6_prefix: int = Field(
        64,
        ge=16,
        le=128,
        description="Per-IP limits count an IPv6 client by this network prefix (a home or "
        "phone usually holds a whole /64).",
    )
    tls_cert: Path | None = Field(None, description="TLS certificate (PEM) for HTTPS/WSS.")
    tls_key: Path | None = Field(None, description="TLS private key (PEM) for HTTPS/WSS.")
    self_signed: bool = Field(
        False,
        description="Serve HTTPS with a self-signed certificate kept in the data directory "
        "(for LAN use); prints its fingerprint.",
    )

    # -- storage --
    data_dir: Path = Field(
        Path(".peerlane"), description="Directory for the database, secret and certificates."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (default: SQLite file in the data directory; "
        "postgresql+asyncpg://… for PostgreSQL).",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL (redis://host:6379/0) for the scale-out bus: fan-out and "
        "presence across instances (default: in-process).",
    )
    backend_connect_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds to wait for a connection to PostgreSQL or Redis before the "
        "request fails with `unavailable` (503, Retry-After) instead of hanging.",
    )
    backend_command_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds one PostgreSQL statement or Redis command may take before it "
        "fails (the request then answers `unavailable`, 503); also the longest wait for a "
        "free pooled PostgreSQL connection.",
    )
    presence_ttl: float = Field(
        30.0,
        gt=0,
        description="With Redis: seconds a presence entry lives unless its instance "
        "refreshes it (every third of this); the peers of an instance that died vanish "
        "from the room's peer list within this time.",
    )
    secret: SecretStr | None = Field(
        None,
        description="Secret for signing session tokens (default: generated once and "
        "kept in the database).",
    )

    # -- sessions and invites --
    session_ttl: float = Field(
        DAY,
        gt=0,
        description="Seconds a session lasts unused; each use (an HTTP request, WebSocket "
        "traffic) renews it.",
    )
    session_max_age: float = Field(
        30 * DAY,
        gt=0,
        description="Seconds a session lasts at most, however much it is used; then the "
        "browser or client joins again.",
    )
    invite_ttl: float = Field(DAY, gt=0, description="Default seconds until an invite expires.")
    invite_max_uses: int | None = Field(
        None, ge=1, description="Default maximum uses of an invite (unset: unlimited)."
    )
    code_words: int = Field(
        2,
        ge=2,
        le=6,
        description="Secret words in a new short code (2: about 28,000 secrets per code; "
        "3: about 4.9 million).",
    )
    code_max_failures: int = Field(
        5,
        ge=1,
        description="Wrong guesses of one short code that one IP address (an IPv6 /64) may "
        "make per day; then that address may not try the code at all.",
    )
    code_max_total_failures: int = Field(
        100,
        ge=1,
        description="Wrong guesses of one short code from all addresses together before the "
        "code is retired (the invite link keeps working).",
    )

    # -- limits --
    max_participants: int = Field(50, ge=1, description="Participants per room.")
    max_ws_message_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest WebSocket message accepted, in bytes."
    )
    max_body_bytes: int = Field(
        16 * 1024, ge=16, description="Largest chat message body, in bytes (compact JSON)."
    )
    max_http_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest JSON request body on the HTTP API, in bytes."
    )
    ws_compression: bool = Field(
        False,
        description="Compress WebSocket messages (permessage-deflate). Off by default: chat "
        "messages are small, and fan-out pays the compression once per recipient.",
    )
    messages_per_second: float = Field(
        20.0, gt=0, description="WebSocket messages per second per connection (sustained)."
    )
    message_burst: float = Field(40.0, ge=1, description="WebSocket message burst per connection.")
    participant_messages_per_second: float = Field(
        10.0,
        gt=0,
        description="Chat messages one participant may send per second (sustained), over "
        "all its connections and instances: reconnecting does not refill it.",
    )
    participant_message_burst: float = Field(
        40.0, ge=1, description="Chat message burst per participant."
    )
    ip_messages_per_second: float = Field(
        50.0,
        gt=0,
        description="Chat messages one IP address (an IPv6 /64) may send per second "
        "(sustained), all its participants together.",
    )
    ip_message_burst: float = Field(200.0, ge=1, description="Chat message burst per IP address.")
    participant_connects_per_minute: float = Field(
        12.0,
        gt=0,
        description="WebSockets one participant may open per minute (also the burst); more "
        "are refused with close code 1013.",
    )
    ip_connects_per_minute: float = Field(
        120.0,
        gt=0,
        description="WebSockets one IP address may open per minute (also the burst); more "
        "are refused with close code 1013.",
    )
    rooms_per_hour: float = Field(
        30.0, gt=0, description="Rooms one IP address may create per hour."
    )
    joins_per_minute: float = Field(
        30.0, gt=0, description="Join attempts one IP address may make per minute."
    )
    failed_joins_per_hour: float = Field(
        20.0, gt=0, description="Failed join attempts (wrong code or link) per IP per hour."
    )

    # -- retention --
    retention_max_age: float | None = Field(
        90 * DAY, gt=0, description="Default seconds a message is kept (unset: forever)."
    )
    retention_max_messages: int | None = Field(
        100_000, ge=1, description="Default messages kept per room (unset: no limit)."
    )
    room_idle_expiry: float | None = Field(
        30 * DAY,
        gt=0,
        description="Default seconds without activity (a message, a join, anyone "
        "connected) before a room is deleted.",
    )
    cleanup_interval: float = Field(60.0, gt=0, description="Seconds between cleanup runs.")

    # -- files --
    files_dir: Path | None = Field(
        None,
        description="Directory for uploaded files (default: files/ in the data directory; "
        "a directory shared by every instance for scale-out).",
    )
    max_file_bytes: int = Field(
        10 * GIB, ge=0, description="Largest file accepted by upload, in bytes."
    )
    room_quota_bytes: int = Field(
        20 * GIB, ge=0, description="Bytes of files (finished or uploading) one room may hold."
    )
    share_quota_bytes: int = Field(
        GIB,
        ge=0,
        description="Bytes of files one share link may hold. Anyone can create a share, so "
        "this is small by default; raise it to allow large anonymous shares.",
    )
    storage_quota_bytes: int | None = Field(
        None,
        ge=0,
        description="Bytes of files the server holds in all (unset: the files stored at "
        "start plus storage-free-share of the disk space then free above the reserve).",
    )
    storage_free_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of the free disk space (above the reserve) at start that files "
        "may take when storage-quota-bytes is unset.",
    )
    storage_reserve_bytes: int = Field(
        GIB,
        ge=0,
        description="Disk space always kept free for the database and the system: uploads "
        "are refused (507) before they would touch it.",
    )
    file_overhead_bytes: int = Field(
        64 * 1024,
        ge=0,
        description="Bytes each file counts against every quota on top of its length and "
        "metadata (so empty files are not free).",
    )
    reservation_ttl: float = Field(
        300.0,
        gt=0,
        description="Seconds an unfinished upload keeps its quota reservation without "
        "progress; then only its stored bytes count (a later PATCH reserves again).",
    )
    upload_bytes_per_ip_per_day: int = Field(
        50 * GIB,
        ge=1,
        description="Bytes (declared length, metadata and file overhead) one IP address may "
        "start uploading per day.",
    )
    share_bytes_per_creator_per_day: int = Field(
        4 * GIB,
        ge=1,
        description="Bytes uploaded per day into the shares created from one IP address, "
        "whoever uploads them.",
    )
    uploads_per_hour: float = Field(
        1200.0,
        gt=0,
        description="Uploads one participant, one share and one IP address may each start "
        "per hour (sustained).",
    )
    upload_burst: float = Field(
        200.0, ge=1, description="Uploads one participant, share or IP may start at once."
    )
    upload_ttl: float = Field(
        DAY, gt=0, description="Seconds an unfinished upload is kept after its last write."
    )
    share_ttl: float = Field(DAY, gt=0, description="Default seconds until a share link expires.")
    share_max_ttl: float = Field(
        7 * DAY, gt=0, description="Longest lifetime a share link may ask for, in seconds."
    )
    shares_per_hour: float = Field(
        30.0, gt=0, description="Share links one IP address may create per hour."
    )

    # -- WebRTC --
    ice_servers: Annotated[list[dict[str, Any]], NoDecode] = Field(
        default_factory=list,
        description='ICE servers as JSON, e.g. [{"urls": ["stun:stun.example.org"]}] '
        "(default: none; LAN peers need none).",
    )
    turn_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="TURN URLs (comma-separated) given time-limited credentials from turn-secret.",
    )
    turn_secret: SecretStr | None = Field(
        None, description="Shared secret of a coturn server (use-auth-secret) for TURN credentials."
    )
    stun_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="STUN URLs (comma-separated, e.g. stun:turn.example.org:3478) handed to "
        "peers (default: none, no public STUN).",
    )
    turn_providers: Annotated[list[TurnProvider], NoDecode] = Field(
        default_factory=list,
        description='TURN providers as JSON: [{"name", "urls": ["turn:…?transport=udp", '
        '"turn:…?transport=tcp", "turns:…"], "priority" (lower first), and "secret" '
        '(time-limited credentials) or "username" + "credential"}]; turn-urls/turn-secret '
        'stay a provider named "default".',
    )
    turn_ttl: float = Field(
        DEFAULT_TTL,
        ge=60,
        le=7 * DAY,
        description="Seconds a time-limited TURN credential stays valid.",
    )
    turn_check_interval: float = Field(
        60.0,
        ge=0,
        description="Seconds between health checks (a real Allocate) of each TURN provider; "
        "0 turns the checks off.",
    )
    turn_check_timeout: float = Field(
        5.0, gt=0, le=60, description="Seconds one TURN health check may take."
    )
    mesh_limit: int = Field(
        8, ge=0, description="Peers a browser connects to directly; more go via the server."
    )
    mesh_connect_timeout: float = Field(
        15.0,
        ge=1,
        le=300,
        description="Seconds a browser gives a direct link to connect before its chat and "
        "files go through the server (sent in the welcome).",
    )
    telemetry: bool = Field(
        True,
        description="Take clients' connection reports (path reached, time to connect, "
        "failure reason, bytes per path, error kinds; no content or personal data) into "
        "/metrics; off: the endpoint answers telemetry_off.",
    )
    telemetry_reports_per_minute: int = Field(
        4, ge=1, le=600, description="Connection reports one participant may send per minute."
    )

    # -- PeerJS-compatible signaling (docs/peerjs.md) --
    peerjs_path: str = Field(
        "/peerjs",
        description="Where the PeerJS server protocol is served (a PeerJS app's `path`); "
        "the socket is <path>/peerjs. Empty: no PeerJS endpoint.",
    )
    peerjs_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["peerjs"],
        description="PeerJS keys accepted (comma-separated; peerjs-server's `key`). Each "
        "key is its own namespace of peer ids.",
    )
    peerjs_token_secret: SecretStr | None = Field(
        None,
        description="When set, a PeerJS client's token must be one signed with this secret "
        "for its key and id (issued by POST <path>/<key>/token); unset: any token.",
    )
    peerjs_expire_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds a frame waits for a peer that has not connected before its "
        "sender gets EXPIRE (peerjs-server's expire_timeout, there in ms).",
    )
    peerjs_alive_timeout: float = Field(
        90.0,
        gt=0,
        description="Seconds without a HEARTBEAT after which a PeerJS socket is closed "
        "(peerjs-server's alive_timeout, there in ms).",
    )
    peerjs_cleanup_out_msgs: float = Field(
        1.0,
        gt=0,
        description="Seconds between sweeps for expired PeerJS queues "
        "(peerjs-server's cleanup_out_msgs, there in ms).",
    )
    peerjs_concurrent_limit: int = Field(
        5000,
        ge=1,
        description="PeerJS peers connected at once, all instances together "
        "(peerjs-server's concurrent_limit).",
    )
    peerjs_allow_discovery: bool = Field(
        False,
        description="Serve GET <path>/<key>/peers, the list of connected ids "
        "(peerjs-server's allow_discovery).",
    )
    peerjs_queue_limit: int = Field(
        100, ge=1, description="Frames queued for one PeerJS peer that has not connected."
    )
    peerjs_max_message_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest PeerJS frame accepted, in bytes."
    )
    peerjs_messages_per_second: float = Field(
        50.0, gt=0, description="PeerJS frames per second per peer id (sustained)."
    )
    peerjs_message_burst: float = Field(200.0, ge=1, description="PeerJS frame burst per peer id.")
    peerjs_ip_messages_per_second: float = Field(
        500.0, gt=0, description="PeerJS frames per second per IP address (sustained)."
    )
    peerjs_ip_message_burst: float = Field(
        2000.0, ge=1, description="PeerJS frame burst per IP address."
    )
    peerjs_ip_connects_per_minute: float = Field(
        120.0,
        gt=0,
        description="PeerJS sockets and ids (GET <path>/<key>/id) per minute per IP address.",
    )

    # -- operations --
    log_format: Literal["console", "json"] = Field("console", description="Log format.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    shutdown_timeout: float = Field(
        10.0, gt=0, description="Seconds to finish in-flight requests on shutdown."
    )

    @field_validator(
        "allowed_origins", "turn_urls", "stun_urls", "trusted_proxies", "peerjs_keys", mode="before"
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("ice_servers", "turn_providers", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
        return value

    @field_validator("stun_urls")
    @classmethod
    def _check_stun(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("stun:", "stuns:")):
                raise ValueError(f"not a stun: or stuns: URL: {url!r}")
        return value

    @field_validator("turn_providers")
    @classmethod
    def _check_providers(cls, value: list[TurnProvider]) -> list[TurnProvider]:
        check_unique_names(value)
        if any(p.name == "default" for p in value):
            raise ValueError('the name "default" is kept for turn-urls/turn-secret')
        return value

    @field_validator("ice_servers")
    @classmethod
    def _check_ice(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        checked = []
        for server in value:
            if "urls" not in server:
                raise ValueError('every ICE server needs "urls"')
            if isinstance(server["urls"], str):  # RTCIceServer takes one URL or a list
                server = {**server, "urls": [server["urls"]]}
            try:
                IceServer.model_validate(server)
            except ValidationError:
                raise ValueError(
                    'each ICE server is {"urls": a URL or a list of URLs, and optionally '
                    '"username" and "credential" strings}'
                ) from None
            checked.append(server)
        return checked

    @field_validator("peerjs_path")
    @classmethod
    def _check_peerjs_path(cls, value: str) -> str:
        path = value.strip().rstrip("/")
        if path and (not path.startswith("/") or "?" in path or "#" in path):
            raise ValueError('a path such as "/peerjs" (or empty for no PeerJS endpoint)')
        return path

    @field_validator("peerjs_keys")
    @classmethod
    def _check_peerjs_keys(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one key")
        for key in value:
            if not key.isprintable() or "/" in key or len(key) > 256:
                raise ValueError(f"not a usable key: {key!r}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR network: {item!r}") from None
        return value

    @model_validator(mode="after")
    def _one_proxy_rule(self) -> Settings:
        if self.trusted_proxy_hops and self.trusted_proxies:
            raise ValueError(
                "trusted_proxy_hops and trusted_proxies exclude each other: give one of them"
            )
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.self_signed and self.tls_cert is not None:
            raise ValueError("self_signed and tls_cert exclude each other")
        return self

    @property
    def proxy_trust(self) -> ProxyTrust:
        """Which proxies' X-Forwarded-For entries are believed (--trust-proxy is one hop)."""
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)
        hops = self.trusted_proxy_hops or (1 if self.trust_proxy and not networks else 0)
        return ProxyTrust(hops=hops, networks=networks)

    @property
    def turn(self) -> list[TurnProvider]:
        """Every TURN provider: ``turn_providers`` and the flat ``turn_urls``/``turn_secret``
        (as the provider "default"), when both of those are given."""
        providers = list(self.turn_providers)
        if self.turn_urls and self.turn_secret is not None:
            flat = TurnProvider(name="default", urls=self.turn_urls, secret=self.turn_secret)
            providers.append(flat)
        return providers

    @property
    def tls(self) -> bool:
        return self.self_signed or self.tls_cert is not None

    @property
    def https_public(self) -> bool:
        """Browsers reach the server over HTTPS: it serves TLS itself, or its public URL
        is https (a TLS proxy in front). Cookies are then Secure and HSTS is sent,
        whether or not the proxy is trusted to say which scheme a request came in on."""
        return self.tls or (self.public_url or "").lower().startswith("https://")

    @property
    def files_path(self) -> Path:
        """Where uploaded files live: ``files_dir``, else ``files/`` in the data directory."""
        return self.files_dir if self.files_dir is not None else self.data_dir / "files"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'peerlane.db').resolve()}"


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def env_name(field: str) -> str:
    return "PEERLANE_" + field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and ``overrides`` (CLI options that were given).

    A bad value raises :class:`ConfigError` naming the option and its variable.
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            if loc:
                field = str(loc[0])
                lines.append(f"{option_name(field)} ({env_name(field)}): {err['msg']}")
            else:
                lines.append(err["msg"])
        raise ConfigError(message="Invalid configuration:\n  " + "\n  ".join(lines)) from exc


def default_text(field: str) -> str:
    default = Settings.model_fields[field].get_default(call_default_factory=True)
    if default is None or isinstance(default, SecretStr):
        return "unset"
    if isinstance(default, list):
        return ",".join(map(str, default)) or "empty"
    return str(default)


def markdown_table() -> str:
    """The option table of docs/configuration.md (a test keeps the doc in sync)."""
    rows = ["| option | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        rows.append(
            f"| `{option_name(name)}` | `{env_name(name)}` | `{default_text(name)}` "
            f"| {info.description} |"
        )
    return "\n".join(rows) + "\n"
