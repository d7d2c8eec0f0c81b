"""What the server tells browsers about WebRTC: ICE servers, STUN, TURN providers and their
health checks, the mesh size, and the clients' connection reports."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import NoDecode

from peerlane.config._values import DAY, comma_list, json_list
from peerlane.core.protocol import IceServer
from peerlane.core.turn import DEFAULT_TTL, TurnProvider, check_unique_names


class WebRtcOptions(BaseModel):
    """The WebRTC group of :class:`peerlane.config.Settings` (never used alone)."""

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

    # Validator names are unique across the groups (see network.py).
    @field_validator("turn_urls", "stun_urls", mode="before")
    @classmethod
    def _webrtc_url_lists(cls, value: Any) -> Any:
        return comma_list(value)

    @field_validator("ice_servers", "turn_providers", mode="before")
    @classmethod
    def _webrtc_json_lists(cls, value: Any) -> Any:
        return json_list(value)

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

    @property
    def turn(self) -> list[TurnProvider]:
        """Every TURN provider: ``turn_providers`` and the flat ``turn_urls``/``turn_secret``
        (as the provider "default"), when both of those are given."""
        providers = list(self.turn_providers)
        if self.turn_urls and self.turn_secret is not None:
            flat = TurnProvider(name="default", urls=self.turn_urls, secret=self.turn_secret)
            providers.append(flat)
        return providers
