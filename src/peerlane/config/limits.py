"""How long sessions and invites last, and how much one client may ask of the server:
sizes, message and connection rates, room creation and join attempts."""

from __future__ import annotations

from pydantic import BaseModel, Field

from peerlane.config._values import DAY


class SessionOptions(BaseModel):
    """The sessions-and-invites group of :class:`peerlane.config.Settings` (never used alone)."""

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


class LimitOptions(BaseModel):
    """The limits group of :class:`peerlane.config.Settings` (never used alone)."""

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
