"""Two Chromiums behind nginx (deploy/nginx/peerlane-lb.conf) on two instances while
Redis restarts empty, then PostgreSQL restarts, then the instances are restarted one by
one (issue #14): each page goes offline and comes back by itself, a message typed while
a service or an instance was down is sent once it is back, and every message is stored
and shown exactly once, in one order, on both pages.

tests/scaleout/test_outages.py checks the same with protocol clients (503, Retry-After,
1013); this is the web client's side of it."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from balancer import Cluster, PgProcess, RedisProcess, cluster_on_own_services, ready
from e2e.helpers import (
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    send_ui,
    wait_js,
    wait_online,
)
from e2e.test_scaleout_browsers import rendered_once
from support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
OFFLINE_JS = "() => window.peerlane.room.serverState !== 'online'"


@pytest.fixture
def outage_cluster(tmp_path: Path) -> Iterator[tuple[PgProcess, RedisProcess, Cluster]]:
    with cluster_on_own_services(tmp_path) as made:
        yield made


def through_an_outage(
    cluster: Cluster,
    pages: list[Page],
    stop: Callable[[], None],
    start: Callable[[], None],
    typed: str,
) -> None:
    stop()
    wait_until(lambda: ready(cluster) == [503, 503], what="/readyz turns 503")
    send_ui(pages[0], typed)  # kept by the page until the server can store it
    start()
    wait_until(lambda: ready(cluster) == [200, 200], what="instances ready again")
    for page in pages:
        wait_online(page)


def test_browsers_behind_nginx_ride_out_redis_postgres_and_a_rolling_restart(
    outage_cluster: tuple[PgProcess, RedisProcess, Cluster], browsers
) -> None:
    pg, redis_server, cluster = outage_cluster
    base = cluster.nginx.base
    alice = browsers.new("alice").page
    bob = browsers.new("bob").page
    room_id = create_room_ui(alice, base, "alice", encrypted=False)
    assert join_by_link_ui(bob, invite_link(alice), "bob") == room_id
    # No body inside another: the checks find messages by their text.
    bodies = ["alice first", "bob first"]
    send_ui(alice, bodies[0])
    send_ui(bob, bodies[1])
    rendered_once(alice, bodies)

    # Redis killed: every instance closes its sockets with 1013 (their room events were
    # lost); it comes back empty (no persistence).
    def kill_redis() -> None:
        redis_server.kill()
        for page in (alice, bob):
            wait_js(page, OFFLINE_JS, what="the page notices the outage")

    through_an_outage(cluster, [alice, bob], kill_redis, redis_server.start, "typed during redis")
    bodies.append("typed during redis")
    rendered_once(alice, bodies)  # stored before bob writes: one order to check
    send_ui(bob, "bob after redis")
    bodies.append("bob after redis")
    assert rendered_once(alice, bodies) == rendered_once(bob, bodies)

    through_an_outage(cluster, [alice, bob], pg.stop, pg.start, "typed during postgres")
    bodies.append("typed during postgres")
    rendered_once(alice, bodies)  # stored before bob writes: one order to check
    send_ui(bob, "bob after postgres")
    bodies.append("bob after postgres")
    rendered_once(alice, bodies)

    # A rolling restart: each instance in turn drains (1001 to its sockets, exits once
    # they are closed) and is replaced while the other serves both pages.
    for index in range(len(cluster.instances)):
        assert cluster.instances[index].stop() in (0, -signal.SIGTERM)
        typed = f"typed while instance {index} restarts"
        send_ui(alice, typed)
        bodies.append(typed)
        cluster.replace(index)
        for page in (alice, bob):
            wait_online(page)
        rendered_once(alice, bodies)
    send_ui(bob, "bob after the rolling restart")
    bodies.append("bob after the rolling restart")
    ids = rendered_once(alice, bodies)
    assert rendered_once(bob, bodies) == ids
    stored = history(bob, room_id)
    assert [m["body"] for m in stored] == bodies  # once each, in order
    assert [m["id"] for m in stored] == ids
    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap
