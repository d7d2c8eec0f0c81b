"""The WebSocket driver's ConnectionRegistry, and the server modules' import structure."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from peerlane.server.connections import ConnectionRegistry

SERVER = Path(__file__).resolve().parents[2] / "src" / "peerlane" / "server"


class Closing:
    """A connection whose task ends a moment after it is asked to close (as the real
    one's does: it closes its socket, then the driver discards it)."""

    def __init__(self, registry: ConnectionRegistry[Closing], room_id: str = "r1") -> None:
        self.registry = registry
        self.room_id = room_id
        self.closed_with: tuple[int, str] | None = None

    def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        asyncio.get_running_loop().call_soon(self.registry.discard, self)


class Stuck(Closing):
    """A connection whose task never ends."""

    def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)


async def test_close_all_closes_every_connection_and_waits_for_the_last() -> None:
    registry: ConnectionRegistry[Closing] = ConnectionRegistry()
    assert await registry.wait_empty(0)  # empty from the start: no wait
    conns = [Closing(registry, room) for room in ("r1", "r1", "r2")]
    for conn in conns:
        assert registry.add(conn)
    assert len(registry) == 3
    assert registry.room_ids() == {"r1", "r2"}
    assert not registry.closing

    assert registry.close_all(1001, "server shutting down") == 3
    assert registry.closing
    assert all(conn.closed_with == (1001, "server shutting down") for conn in conns)
    assert await registry.wait_empty(5.0)  # set by the last discard, long before 5 s
    assert len(registry) == 0
    assert registry.room_ids() == set()


async def test_a_connection_that_does_not_end_runs_into_the_deadline() -> None:
    registry: ConnectionRegistry[Closing] = ConnectionRegistry()
    stuck = Stuck(registry)
    registry.add(stuck)
    registry.close_all(1001, "bye")
    assert stuck.closed_with == (1001, "bye")
    assert not await registry.wait_empty(0.05)
    registry.discard(stuck)
    assert await registry.wait_empty(0)


async def test_no_connection_is_added_once_closing() -> None:
    registry: ConnectionRegistry[Closing] = ConnectionRegistry()
    assert registry.close_all(1001, "bye") == 0
    late = Closing(registry)
    assert not registry.add(late)  # the driver refuses its socket with 1001
    assert len(registry) == 0
    assert await registry.wait_empty(0)
    registry.discard(late)  # the driver's finally: harmless for one never added


async def test_discarding_one_of_several_keeps_the_registry_busy() -> None:
    registry: ConnectionRegistry[Closing] = ConnectionRegistry()
    a, b = Closing(registry), Closing(registry, "r2")
    registry.add(a)
    registry.add(b)
    registry.discard(a)
    assert not await registry.wait_empty(0.01)
    assert list(registry) == [b]
    registry.discard(b)
    assert await registry.wait_empty(0)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, TYPE_CHECKING blocks and functions included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_services_and_auth_do_not_import_the_websocket_driver() -> None:
    """ws.py imports auth.py and services.py; neither imports it back (no cycle)."""
    for module in ("services.py", "auth.py", "connections.py"):
        imports = imported_modules(SERVER / module)
        assert "peerlane.server.ws" not in imports, module
    assert "peerlane.server.services" not in imported_modules(SERVER / "connections.py")
