"""The open WebSocket connections of one app, kept by the WebSocket driver.

The driver adds a connection once it is authenticated and discards it when its task
ends. Shutting down closes them all (1001, going away: clients reconnect, to another
instance if there is one) and waits, up to a deadline, for the registry to be empty:
an event set when the last connection leaves, not a polling loop. Once closing, the
registry takes no new connection, so a socket authenticated during the drain is
refused rather than left open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    """What the registry needs of a connection: its room, and a way to ask it to close
    (its own task closes the socket and then discards it)."""

    @property
    def room_id(self) -> str: ...

    def close(self, code: int, reason: str) -> None: ...


C = TypeVar("C", bound=Closable)


class ConnectionRegistry(Generic[C]):
    def __init__(self) -> None:
        self._open: set[C] = set()
        self._empty = asyncio.Event()
        self._empty.set()
        self._closing = False

    @property
    def closing(self) -> bool:
        """:meth:`close_all` was called: the server is shutting down."""
        return self._closing

    def add(self, conn: C) -> bool:
        """Register ``conn``; False (not registered) once the server is closing."""
        if self._closing:
            return False
        self._open.add(conn)
        self._empty.clear()
        return True

    def discard(self, conn: C) -> None:
        """``conn`` has ended (whether it was registered or not)."""
        self._open.discard(conn)
        if not self._open:
            self._empty.set()

    def close_all(self, code: int, reason: str) -> int:
        """Ask every connection to close, and refuse new ones; how many were open."""
        self._closing = True
        connections = list(self._open)
        for conn in connections:
            conn.close(code, reason)
        return len(connections)

    async def wait_empty(self, within: float) -> bool:
        """Wait until no connection is open, at most ``within`` seconds; whether it is."""
        if self._empty.is_set():
            return True
        try:
            await asyncio.wait_for(self._empty.wait(), within)
        except TimeoutError:
            return False
        return True

    def room_ids(self) -> set[str]:
        """The rooms someone is connected to (cleanup keeps them alive)."""
        return {conn.room_id for conn in self._open}

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[C]:
        return iter(list(self._open))
