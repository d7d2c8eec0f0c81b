"""``POST /api/rooms/{room_id}/telemetry``: a participant's connection report into /metrics.

Only participants report (no anonymous flood of made-up numbers), a few times a minute
each (``--telemetry-reports-per-minute``), and nothing of a report is stored or logged:
it only moves counters whose labels are the report's enums (core/telemetry.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from peerlane.core.telemetry import Report, error_kind
from peerlane.errors import ErrorCode, LimitError, NotFoundError
from peerlane.server.api_deps import Svc, Who
from peerlane.server.metrics import Metrics

router = APIRouter(prefix="/api")


@router.post("/rooms/{room_id}/telemetry", status_code=204)
async def report(body: Report, who: Who, svc: Svc) -> Response:
    if not svc.settings.telemetry:
        raise NotFoundError(ErrorCode.TELEMETRY_OFF)
    wait = await svc.limiters.telemetry.take(who.participant.id, svc.clock())
    if wait is not None:
        raise LimitError(ErrorCode.RATE_LIMITED, retry_after=wait)
    count(svc.metrics, body)
    return Response(status_code=204)


def count(metrics: Metrics, body: Report) -> None:
    for attempt in body.attempts:
        path = attempt.path or "none"
        metrics.client_attempts.labels(body.client, path, attempt.outcome).inc()
        if attempt.outcome == "failed":
            metrics.client_failures.labels(body.client, attempt.reason or "other").inc()
        elif attempt.connect_ms is not None:
            metrics.client_connect_seconds.labels(path).observe(attempt.connect_ms / 1000)
    for moved in body.bytes:
        metrics.client_bytes.labels(moved.path, "sent").inc(moved.sent)
        metrics.client_bytes.labels(moved.path, "received").inc(moved.received)
    for error in body.errors:
        metrics.client_error_kinds.labels(body.client, error_kind(error.kind)).inc(error.count)
