"""Background tasks of the Redis back-ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


async def cancel_tasks(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel every task, then wait for each to end (its cancellation included)."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
