"""The PeerJS-compatible signaling endpoint (docs/peerjs.md): path, keys, tokens, the
timeouts and limits peerjs-server has (there in ms, here in seconds)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from peerlane.config._values import comma_list


class PeerJsOptions(BaseModel):
    """The PeerJS group of :class:`peerlane.config.Settings` (never used alone)."""

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

    # Validator names are unique across the groups (see network.py).
    @field_validator("peerjs_keys", mode="before")
    @classmethod
    def _peerjs_key_list(cls, value: Any) -> Any:
        return comma_list(value)

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
