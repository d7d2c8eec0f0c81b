"""Connection reports from clients: what path each connection attempt reached, how long
it took or why it failed, the bytes moved per path, and uncaught errors by kind.

Nothing in a report says who or what: no addresses, peer ids, message content, error
messages or stack traces. Every field is an enum or a bounded number, so the metrics
built from them have a fixed, small set of labels (docs/protocol.md, "Telemetry").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# "turn": relayed, by the peer's allocation (its transport to the relay is not in this
# side's stats); "turn-<transport>": by this side's own.
Path = Literal["direct", "turn", "turn-udp", "turn-tcp", "turn-tls", "server"]
FailureReason = Literal[
    "ice-failed",  # every candidate pair failed
    "timeout",  # no answer in time
    "turn-unreachable",  # TURN configured, no allocation
    "no-turn",  # direct failed and no TURN was offered
    "signaling",  # the offer/answer did not get through
    "closed",  # the other side went away first
    "other",
]
# Error kinds by constructor name; anything else counts as "other" (no free text).
ERROR_KINDS = frozenset(
    {
        "Error",
        "TypeError",
        "RangeError",
        "ReferenceError",
        "SyntaxError",
        "DOMException",
        "AbortError",
        "NotAllowedError",
        "InvalidStateError",
        "NetworkError",
        "OperationError",
        "QuotaExceededError",
        "UnhandledRejection",
        "Exception",  # the CLI (Python)
        "OSError",
        "TimeoutError",
        "ValueError",
        "other",
    }
)
MAX_CONNECT_MS = 300_000
MAX_BYTES = 1 << 44  # 16 TiB: more than any report period can move

Count = Annotated[int, Field(ge=1, le=10_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Attempt(_Strict):
    outcome: Literal["connected", "failed"]
    path: Path | None = None  # the path reached (connected) or last tried (failed)
    connect_ms: int | None = Field(None, ge=0, le=MAX_CONNECT_MS)
    reason: FailureReason | None = None  # why it failed


class PathBytes(_Strict):
    path: Path
    sent: int = Field(0, ge=0, le=MAX_BYTES)
    received: int = Field(0, ge=0, le=MAX_BYTES)


class ErrorCount(_Strict):
    kind: str = Field(max_length=40, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    count: Count = 1


class Report(_Strict):
    """One client's report: at most 20 attempts, 6 path totals and 10 error kinds."""

    v: Literal[1] = 1
    client: Literal["web", "cli"]
    attempts: list[Attempt] = Field(default_factory=list, max_length=20)
    bytes: list[PathBytes] = Field(default_factory=list, max_length=6)
    errors: list[ErrorCount] = Field(default_factory=list, max_length=10)


def error_kind(kind: str) -> str:
    """The label an error kind is counted under: a known constructor name, or "other"."""
    return kind if kind in ERROR_KINDS else "other"
